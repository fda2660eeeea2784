/**
 * What `bulkhead run --agent NAME` applies for agents that need more than
 * BULKHEAD_MCP_URL and BULKHEAD_TOKEN. Presets are data: environment, extra
 * arguments for the agent's own binary, and whether that binary's folder is
 * mounted; the jail knows nothing about any agent.
 */
import { accessSync, constants, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { BulkheadError } from '../errors.js';

export interface AgentPreset {
  description: string;
  /** Added to the agent's environment. `{mcp_config}` is replaced by the config file's path. */
  env: Readonly<Record<string, string>>;
  /** Inserted after the agent's own binary (found by `binaries`), unless the command already has them. */
  args: readonly string[];
  /** Base names of the agent's binary, to find where `args` go. */
  binaries: readonly string[];
  /** Mount the folder of the agent's binary (read-only) when it lies outside /usr. */
  mountBinary: boolean;
}

/**
 * No timeout settings: Claude Code gives up on an HTTP MCP answer that has not started within
 * 60 s, and a held call's answer starts at once (it streams), while its own per-call limit,
 * `MCP_TOOL_TIMEOUT`, defaults to about 27 hours in the pinned version (docs/agents.md says when
 * to set it). Telemetry and update checks are switched off: in the jail they are only denied
 * egress and noise in the audit log.
 */
const CLAUDE_ENV = {
  MCP_TIMEOUT: '30000',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_AUTOUPDATER: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  BULKHEAD_MCP_CONFIG: '{mcp_config}',
} as const;

export const AGENT_PRESETS = {
  'claude-code': {
    description: 'Claude Code headless (claude -p ...): MCP config passed with --mcp-config',
    env: CLAUDE_ENV,
    args: ['--mcp-config', '{mcp_config}'],
    binaries: ['claude', 'cli.js'],
    mountBinary: true,
  },
  'agent-sdk': {
    description: 'a Claude Agent SDK program: read BULKHEAD_MCP_CONFIG into options.mcpServers',
    env: CLAUDE_ENV,
    args: [],
    binaries: [],
    mountBinary: true,
  },
} as const satisfies Record<string, AgentPreset>;

export type AgentName = keyof typeof AGENT_PRESETS;

export interface AppliedPreset {
  command: string[];
  env: Record<string, string>;
  /** Host folders to mount read-only at the same path. */
  mounts: string[];
}

export function applyPreset(
  name: string | undefined,
  command: readonly string[],
  mcpConfigPath: string,
  path = process.env.PATH ?? '',
): AppliedPreset {
  const out: AppliedPreset = { command: [...command], env: {}, mounts: [] };
  if (name === undefined) return out;
  if (!Object.hasOwn(AGENT_PRESETS, name))
    throw new BulkheadError(
      'bad_request',
      `--agent ${name}: unknown agent (have: ${Object.keys(AGENT_PRESETS).join(', ')})`,
    );
  const preset: AgentPreset = AGENT_PRESETS[name as AgentName];
  const fill = (value: string) => value.replaceAll('{mcp_config}', mcpConfigPath);
  for (const [key, value] of Object.entries(preset.env)) out.env[key] = fill(value);
  if (preset.mountBinary) {
    // The program, and the script a node program runs: the jail has /usr, not the host's other folders.
    const [program, script] = command;
    const found = program ? onPath(program, path) : undefined;
    if (found && program) out.command[0] = found;
    const candidates = [
      found,
      basename(found ?? '') === 'node' && script && isAbsolute(script) ? script : undefined,
    ];
    for (const file of candidates) {
      if (!file || file.startsWith('/usr/')) continue;
      const real = realpathSync(file);
      if (real.startsWith('/usr/')) continue;
      out.mounts.push(dirname(real));
      // A bin/ symlink (npm's node_modules/.bin/claude): the jail must see its target at that path.
      if (file === found && real !== file) out.command[0] = real;
    }
  }
  const at = out.command.findIndex((part) => preset.binaries.includes(basename(part)));
  const args = preset.args.map(fill);
  if (at >= 0 && args.length > 0 && !out.command.includes(args[0] as string))
    out.command.splice(at + 1, 0, ...args);
  return out;
}

function absolute(file: string): string | undefined {
  const full = isAbsolute(file) ? file : join(process.cwd(), file);
  try {
    accessSync(full, constants.R_OK);
    return full;
  } catch {
    return undefined;
  }
}

function onPath(program: string, path: string): string | undefined {
  if (program.includes('/')) return absolute(program);
  for (const dir of path.split(':').filter(Boolean)) {
    const full = join(dir, program);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}
