/**
 * One `tools/call` on an upstream's slot (upstream-pool.ts): sent with the gateway's own progress
 * token, resent once on a fresh session when an HTTP upstream forgot ours (it restarted and never
 * saw the request), and its failure told apart: the agent gets a code, never the upstream's words.
 */
import { type CallToolResult, CallToolResultSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { type Denial, denial } from '../errors.js';
import type { Logger } from '../log.js';
import type { UpstreamConnection } from './upstream-client.js';
import { knownFailure, sessionLost, unreachable } from './upstream-failures.js';
import { routeProgress } from './upstream-progress.js';
import type { Slot } from './upstream-slot.js';

export type CallOutcome =
  | { ok: true; result: CallToolResult; ms: number }
  | { ok: false; denial: Denial; ms: number; error?: unknown };

export interface CallOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /** Progress the upstream reports for this call (asked for only when given). */
  onprogress?: (progress: Progress) => void;
}

/** What a call needs of the pool that holds its slot. */
export interface CallDeps {
  logger: Logger;
  /** The slot's connection is unreachable: marked down and reconnected with backoff. */
  lost(slot: Slot, error: unknown): void;
  /** Replaces a connection whose session the server forgot; false when that failed. */
  heal(slot: Slot, stale: UpstreamConnection): Promise<boolean>;
}

/** Calls `tool` on the slot's live connection; the caller checked it is ready. */
export async function callOnSlot(
  slot: Slot,
  tool: string,
  args: Record<string, unknown>,
  options: CallOptions,
  deps: CallDeps,
): Promise<CallOutcome> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  try {
    const result = await send(slot, tool, args, options, deps);
    return { ok: true, result, ms: elapsed() };
  } catch (error) {
    const ms = elapsed();
    const known = knownFailure(error, options.signal);
    if (known) return { ok: false, ms, error, denial: known };
    if (unreachable(error)) deps.lost(slot, error);
    if (slot.state !== 'ready') {
      return {
        ok: false,
        ms,
        error,
        denial: denial('upstream_unavailable', 'The service behind this tool stopped during the call.'),
      };
    }
    // The upstream's own message may carry its internals or secrets: the agent gets a code only.
    return { ok: false, ms, error, denial: denial('upstream_error', 'The tool failed.') };
  }
}

/** Sends one call; on a lost HTTP session, re-initialises and sends it once more. */
async function send(
  slot: Slot,
  tool: string,
  args: Record<string, unknown>,
  options: CallOptions,
  deps: CallDeps,
): Promise<CallToolResult> {
  const attempt = async (connection: UpstreamConnection) => {
    // The gateway's own progress token, routed in order (upstream-progress.ts), never the agent's.
    const route = options.onprogress ? routeProgress(connection.client, options.onprogress) : undefined;
    try {
      return (await connection.client.callTool(
        { name: tool, arguments: args, ...(route ? { _meta: { progressToken: route.token } } : {}) },
        CallToolResultSchema,
        { signal: options.signal, timeout: options.timeoutMs },
      )) as CallToolResult;
    } finally {
      route?.release();
    }
  };
  const connection = slot.connection as UpstreamConnection;
  try {
    return await attempt(connection);
  } catch (error) {
    // 404 on a session: the server restarted and never saw this request. Safe to resend once.
    if (!sessionLost(error) || options.signal.aborted) throw error;
    deps.logger.warn({ upstream: slot.name }, 'upstream lost our session (it restarted); re-initialising');
    if (!(await deps.heal(slot, connection))) throw error;
    return attempt(slot.connection as UpstreamConnection);
  }
}
