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
  /**
   * Added to the agent's environment. In `env` and `args`, `{mcp_config}` is replaced by the MCP
   * config file's path, `{mcp_url}` by the gateway's MCP endpoint and `{openai_base_url}` by its
   * OpenAI door (`<gateway>/v1`), as the agent reaches them (inside the jail or not).
   */
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

/**
 * Codex (`codex exec`, 0.171) reads neither OPENAI_BASE_URL nor OPENAI_API_KEY (exec takes
 * CODEX_API_KEY), and tries a WebSocket to the Responses API before HTTPS: so the preset
 * names a model provider of its own, on the gateway's OpenAI door over HTTPS with the run
 * token from OPENAI_API_KEY. Its `web_search` tool is a server tool (the API searches for it,
 * refused by default: docs/agents.md), so it is switched off; bulkhead's MCP endpoint is an
 * HTTP MCP server with the run token as bearer. Codex's own sandbox is off: on Linux it needs
 * user namespaces, which the jail does not allow, and the jail is the boundary (the agent's
 * commands run as the jail's unprivileged user, default-deny egress). All as `-c` overrides on
 * the command line: nothing is written to a config file, in the jail or out of it.
 */
const CODEX_ARGS = [
  '-c',
  'model_provider="bulkhead"',
  '-c',
  'model_providers.bulkhead={name="bulkhead",base_url="{openai_base_url}",env_key="OPENAI_API_KEY",wire_api="responses",supports_websockets=false}',
  '-c',
  'mcp_servers.bulkhead={url="{mcp_url}",bearer_token_env_var="BULKHEAD_TOKEN"}',
  '-c',
  'web_search="disabled"',
  '-c',
  'sandbox_mode="danger-full-access"',
  '-c',
  'approval_policy="never"',
  '-c',
  'check_for_update_on_startup=false',
] as const;

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
  codex: {
    description:
      "OpenAI Codex (codex exec ...): the gateway's Responses API as its model provider, its MCP endpoint as an MCP server, Codex's own sandbox off (-c overrides)",
    env: { BULKHEAD_MCP_CONFIG: '{mcp_config}' },
    args: CODEX_ARGS,
    binaries: ['codex', 'codex.js'],
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

/** Where the agent reaches the gateway: its MCP endpoint, and its OpenAI door (`<gateway>/v1`). */
export interface PresetUrls {
  mcp: string;
  openai: string;
}

export function applyPreset(
  name: string | undefined,
  command: readonly string[],
  mcpConfigPath: string,
  path = process.env.PATH ?? '',
  urls: PresetUrls = { mcp: '', openai: '' },
): AppliedPreset {
  const out: AppliedPreset = { command: [...command], env: {}, mounts: [] };
  if (name === undefined) return out;
  if (!Object.hasOwn(AGENT_PRESETS, name))
    throw new BulkheadError(
      'bad_request',
      `--agent ${name}: unknown agent (have: ${Object.keys(AGENT_PRESETS).join(', ')})`,
    );
  const preset: AgentPreset = AGENT_PRESETS[name as AgentName];
  const fill = (value: string) =>
    value
      .replaceAll('{mcp_config}', mcpConfigPath)
      .replaceAll('{mcp_url}', urls.mcp)
      .replaceAll('{openai_base_url}', urls.openai);
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
