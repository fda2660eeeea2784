/**
 * A held call whose stream is cut (the gateway killed or restarted while the
 * call waited for approval) must still get an answer, or the agent waits out
 * its own per-call limit (about 27 hours in Claude Code 2.1).
 *
 * A held answer's stream starts with a priming event whose id names the
 * calls it carries (the MCP spec's resumable streams). The MCP SDK client,
 * Claude Code's among them, reconnects a cut stream that had such an id: a
 * GET on the same session with `Last-Event-ID`. A gateway that does not hold
 * those calls (the restarted one, another replica) answers that GET with
 * what a clean shutdown would have sent on the stream: each call withdrawn,
 * its approval still open for an identical retry. The id is no credential:
 * the GET presents the run's token and session, and the only answer it can
 * obtain is a denial of its own call.
 */
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

const PREFIX = 'held-';
const MAX_IDS = 16;
const MAX_HEADER = 2_048;

/** The priming event id of a held stream carrying `ids`. */
export function heldEventId(ids: readonly RequestId[]): string {
  return `${PREFIX}${Buffer.from(JSON.stringify(ids)).toString('base64url')}`;
}

/** The request ids a `Last-Event-ID` of a held stream names; undefined for any other value. */
export function heldIdsOf(lastEventId: string | null): RequestId[] | undefined {
  if (!lastEventId?.startsWith(PREFIX) || lastEventId.length > MAX_HEADER) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(lastEventId.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > MAX_IDS) return undefined;
  const ok = parsed.every(
    (id) => (typeof id === 'string' && id.length <= 256) || (typeof id === 'number' && Number.isFinite(id)),
  );
  return ok ? (parsed as RequestId[]) : undefined;
}

/** An SSE answer carrying `answer(id)` for each id, then ending (the client stops reconnecting). */
export function answerResumed(
  ids: readonly RequestId[],
  answer: (id: RequestId) => JSONRPCMessage,
  sessionId: string,
): Response {
  const events = ids.map((id) => `event: message\ndata: ${JSON.stringify(answer(id))}\n\n`).join('');
  return new Response(events, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'mcp-session-id': sessionId,
    },
  });
}
