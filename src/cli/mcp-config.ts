/**
 * The MCP client config `bulkhead run` hands the agent: the run's MCP URL
 * and token in the `mcpServers` format Claude Code (`--mcp-config`,
 * `.mcp.json`) and the Claude Agent SDK (`options.mcpServers`) read. Inside
 * the jail it is a read-only file at /run/bulkhead/mcp.json, named by
 * BULKHEAD_MCP_CONFIG; it holds the run token, so it is never written into
 * the workdir (which outlives the run).
 */
import { JAIL_RUNTIME } from '../sandbox/bwrap-argv.js';

export const MCP_CONFIG_FILE = 'mcp.json';
export const JAIL_MCP_CONFIG = `${JAIL_RUNTIME}/${MCP_CONFIG_FILE}`;
/** The server's name in the config: Claude Code shows tools as `mcp__bulkhead__<tool>`. */
export const MCP_SERVER_NAME = 'bulkhead';

export interface McpClientConfig {
  mcpServers: Record<string, { type: 'http'; url: string; headers: Record<string, string> }>;
}

export function mcpClientConfig(mcpUrl: string, token: string): McpClientConfig {
  return {
    mcpServers: {
      [MCP_SERVER_NAME]: { type: 'http', url: mcpUrl, headers: { Authorization: `Bearer ${token}` } },
    },
  };
}
