/**
 * Reading a JSON-RPC message that the keep-alive fetch sent as text
 * (http-fetch.ts, http-response.ts): one of its fields, the tool a
 * `tools/call` names, and a JSON-RPC error answering it.
 *
 * Kept apart from the fetch because both halves need it (the request side to
 * match a `notifications/cancelled` to the request it cancels, the answer side
 * to cut a tool's answer and to fail one that overflowed) and because it only
 * parses when asked: the hot path tests the text with `includes` first. A batch
 * or text that is not JSON yields undefined, never a guess.
 */

/** A field of a single JSON-RPC message sent as text (undefined for a batch or bad JSON). */
export function jsonRpcField(text: string, pick: (message: Record<string, unknown>) => unknown): unknown {
  try {
    const message = JSON.parse(text) as unknown;
    return message && typeof message === 'object' && !Array.isArray(message)
      ? pick(message as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The tool a `tools/call` request sent as text calls. */
export function toolCalled(sent: string): string | undefined {
  const name = jsonRpcField(sent, (m) =>
    m.method === 'tools/call' ? (m.params as { name?: unknown })?.name : undefined,
  );
  return typeof name === 'string' ? name : undefined;
}

/** A JSON-RPC error for the request in `sent` (an SSE event, or a JSON body), if it was one. */
export function errorAnswer(
  sent: string | undefined,
  code: number,
  message: string,
  sse: boolean,
): Uint8Array | undefined {
  if (!sent) return undefined;
  const id = jsonRpcField(sent, (m) => m.id);
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  const error = JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
  // The blank line first ends whatever partial event was already passed on.
  return new TextEncoder().encode(sse ? `\n\nevent: message\ndata: ${error}\n\n` : error);
}
