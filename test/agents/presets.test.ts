/** `--agent` presets: data applied to the command, never special cases in the jail. */
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_PRESETS, applyPreset } from '../../src/cli/agent-presets.js';
import { mcpClientConfig } from '../../src/cli/mcp-config.js';
import { loadPolicyFile } from '../../src/policy/load.js';
import { ROOT } from '../helpers/harness.js';

const CONFIG = '/run/bulkhead/mcp.json';

function fakeInstall(): { bin: string; script: string } {
  const root = mkdtempSync('/var/tmp/bulkhead-preset-');
  mkdirSync(join(root, 'pkg'));
  mkdirSync(join(root, 'bin'));
  const script = join(root, 'pkg', 'cli.js');
  writeFileSync(script, '#!/usr/bin/env node\n');
  chmodSync(script, 0o755);
  symlinkSync(script, join(root, 'bin', 'claude'));
  return { bin: join(root, 'bin'), script };
}

describe('agent presets', () => {
  it('claude-code: passes the MCP config, mounts the binary outside /usr, quiets telemetry', () => {
    const { bin, script } = fakeInstall();
    const applied = applyPreset('claude-code', ['claude', '-p', 'hi'], CONFIG, bin);
    expect(applied.command).toEqual([script, '--mcp-config', CONFIG, '-p', 'hi']);
    expect(applied.mounts).toEqual([join(script, '..')]);
    expect(applied.env).toMatchObject({
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      BULKHEAD_MCP_CONFIG: CONFIG,
    });
  });

  it('mounts the script a node program runs, and leaves a command that names --mcp-config alone', () => {
    const { script } = fakeInstall();
    const applied = applyPreset(
      'claude-code',
      ['node', script, '-p', 'x', '--mcp-config', '/elsewhere.json'],
      CONFIG,
      '/usr/bin',
    );
    expect(applied.command).toEqual(['/usr/bin/node', script, '-p', 'x', '--mcp-config', '/elsewhere.json']);
    expect(applied.mounts).toEqual([join(script, '..')]);
  });

  it('agent-sdk: environment only; no preset changes nothing; an unknown one is refused', () => {
    expect(applyPreset('agent-sdk', ['/usr/bin/node', 'agent.mjs'], CONFIG).command).toEqual([
      '/usr/bin/node',
      'agent.mjs',
    ]);
    expect(applyPreset(undefined, ['x'], CONFIG)).toEqual({ command: ['x'], env: {}, mounts: [] });
    expect(() => applyPreset('cursor', ['x'], CONFIG)).toThrow(/unknown agent/);
    expect(Object.keys(AGENT_PRESETS)).toEqual(['claude-code', 'agent-sdk', 'codex']);
  });

  it('codex: its model provider and MCP server on the gateway, as -c overrides after the binary', () => {
    const applied = applyPreset('codex', ['/usr/bin/codex', 'exec', 'hi'], CONFIG, '/usr/bin', {
      mcp: 'http://127.0.0.1:7300/mcp',
      openai: 'http://127.0.0.1:7300/v1',
    });
    expect(applied.command[0]).toBe('/usr/bin/codex');
    expect(applied.command.slice(-2)).toEqual(['exec', 'hi']);
    const overrides = applied.command.filter((_, i) => applied.command[i - 1] === '-c');
    expect(overrides).toContain('model_provider="bulkhead"');
    expect(overrides.join('\n')).toContain('base_url="http://127.0.0.1:7300/v1"');
    expect(overrides.join('\n')).toContain('env_key="OPENAI_API_KEY"');
    expect(overrides.join('\n')).toContain('supports_websockets=false');
    expect(overrides).toContain(
      'mcp_servers.bulkhead={url="http://127.0.0.1:7300/mcp",bearer_token_env_var="BULKHEAD_TOKEN"}',
    );
    expect(overrides).toContain('web_search="disabled"');
    expect(overrides).toContain('sandbox_mode="danger-full-access"');
    expect(applied.mounts).toEqual([]);
  });

  it('writes the MCP config in the mcpServers format Claude Code reads', () => {
    expect(mcpClientConfig('http://127.0.0.1:7300/mcp', 'bht_x')).toEqual({
      mcpServers: {
        bulkhead: {
          type: 'http',
          url: 'http://127.0.0.1:7300/mcp',
          headers: { Authorization: 'Bearer bht_x' },
        },
      },
    });
  });

  it('the agents example policy is valid: an HTTP upstream with a bearer credential, an llm section', () => {
    const { policy } = loadPolicyFile(join(ROOT, 'examples/agents/policy.yaml'));
    const tickets = policy.upstreams.tickets as { url?: string; headers?: Record<string, unknown> };
    expect(tickets.url).toMatch(/^http/);
    expect(tickets.headers?.Authorization).toEqual({ secret: 'TICKETS_API_TOKEN', prefix: 'Bearer ' });
    expect(policy.llm).toBeDefined();
  });
});
