/**
 * A server tool no request field bounds runs in the API's own loop inside one request: the model
 * calls it, the API runs it, appends the result and samples the whole conversation again, each
 * sampling billed as input. On the Messages API that is code execution, the MCP connector's tools
 * (an `mcp_toolset`, or a listed `mcp_servers` entry alone under the first connector beta), tool
 * search, and any server tool but a web search or fetch (which `max_uses` bounds). Reserved at one
 * or two readings of the prompt, such a request was charged ten and more, and requests sent at
 * once together passed a token or USD cap.
 *
 * What bounds the loop is the provider's: the server-side sampling loop stops after
 * `SERVER_LOOP_ITERATIONS` iterations and answers with `stop_reason: "pause_turn"` for the client
 * to continue in a new request (Anthropic, "Handling stop reasons", `pause_turn`; "Server tools",
 * "The server-side loop and pause_turn"). Such a request is reserved at that many tool runs, each
 * followed by a sampling over everything before it, each result at `LOOP_RESULT_TOKENS`.
 * The Responses API's loop has a field, `max_tool_calls`, which bounds every server tool there
 * (`responsesServerTool`), priced or not (server-tool-fees.ts `responsesToolPlan`).
 */
import { isObject, type Json } from './json.js';
import { serverTool } from './side-doors.js';

/** Responses tool types the client runs: they reach nothing the sandbox does not allow. */
export const CLIENT_TOOLS: ReadonlySet<string> = new Set([
  'function',
  'custom',
  'local_shell',
  'shell',
  'apply_patch',
  'computer',
  'computer_use',
  'computer_use_preview',
]);

/**
 * Whether a client-looking tool runs on the provider's machines: a `shell` with an `environment`
 * other than `local` is the hosted shell (a container of the account, online where its
 * `network_policy` says), a server tool however its type reads.
 */
export function runsHosted(tool: unknown): boolean {
  if (!isObject(tool) || tool.type !== 'shell') return false;
  const env = tool.environment;
  return env !== undefined && env !== null && !(isObject(env) && env.type === 'local');
}

/**
 * Whether a Responses tool (a `namespace`'s members listed on their own) runs on the provider's
 * side: every call is one more sampling, priced or not (an `mcp` server's call costs no fee).
 */
export function responsesServerTool(tool: Json): boolean {
  const type = tool.type;
  if (typeof type !== 'string') return false;
  return !(CLIENT_TOOLS.has(type) && !runsHosted(tool)) && type !== 'namespace';
}

/** Iterations of the Messages API's server-side sampling loop before it pauses (`pause_turn`). */
export const SERVER_LOOP_ITERATIONS = 10;

/**
 * The most input one run of a looping tool adds, in tokens: no provider states a maximum for code
 * execution output or an MCP tool's result, so the ceiling a web search's results are reserved at.
 */
export const LOOP_RESULT_TOKENS = 10_000;

/** What an unbounded loop adds to a request's plan, and the field that opened it. */
export interface ServerLoop {
  field: string;
  /** Samplings at most: one after each iteration's tool run, and the first. */
  samplings: number;
  uses: number;
  tokens: number;
}

/**
 * The loop a Messages request may run, by the first field that opens one: a server tool that
 * `bounded` (its family has `max_uses`) does not cover, or `mcp_servers`, whose tools the first
 * connector beta exposes with no `tools` entry.
 */
export function messagesLoop(body: Json, bounded: (type: string) => boolean): ServerLoop | undefined {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const i = tools.findIndex((tool) => {
    const type = isObject(tool) ? tool.type : undefined;
    return serverTool(type) && !(typeof type === 'string' && bounded(type));
  });
  const servers = body.mcp_servers;
  const connector = Array.isArray(servers) ? servers.length > 0 : servers !== undefined && servers !== null;
  const field = i >= 0 ? `tools[${i}]` : connector ? 'mcp_servers' : undefined;
  if (!field) return undefined;
  return {
    field,
    samplings: SERVER_LOOP_ITERATIONS + 1,
    uses: SERVER_LOOP_ITERATIONS,
    tokens: LOOP_RESULT_TOKENS,
  };
}
