/**
 * What a failed upstream call means (upstream-pool.ts): a refusal the agent
 * is told in its own words (cancelled, too large, timed out), a lost session
 * to re-initialise, or an upstream that cannot be reached at all.
 */
import { type Denial, denial } from '../errors.js';
import { MESSAGE_TOO_LARGE } from './stdio-reader.js';

/** The denial for a failure with its own meaning; undefined for an upstream's own error. */
export function knownFailure(error: unknown, signal: AbortSignal): Denial | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (signal.aborted) return denial('run_not_active', 'The call was cancelled.');
  if (code === MESSAGE_TOO_LARGE || code === 'response_too_large') {
    return denial('result_too_large', "The tool's answer was larger than this gateway accepts from it.");
  }
  if (code === -32001) return denial('upstream_timeout', 'The tool did not answer in time.');
  return undefined;
}

/**
 * The server refused our session id: it restarted and forgot us, and did not run the request.
 * The spec says 404; servers built like the SDK's example (the reference `everything` server
 * among them) answer 400 "No valid session ID provided", or "Server not initialized".
 */
export function sessionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (code === 404 || /session not found/i.test(message)) return true;
  return code === 400 && /no valid session id|server not initialized/i.test(message);
}

/** The request never reached a server (refused, reset, DNS): the upstream is down. */
export function unreachable(error: unknown): boolean {
  const message =
    error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : '';
  return /fetch failed|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|socket hang up/i.test(message);
}
