/**
 * JSON-RPC framing checks the SDK's server transport leaves open, applied by
 * the MCP endpoint before a message reaches it: an empty batch (the SDK
 * answered 202, as if there were nothing to answer) and a request id already
 * in flight in the session (the SDK maps answers by id alone, so a duplicate
 * took over the first request's answer). Refusals carry id null: answering
 * under the duplicate id would hand the refusal to the first caller.
 */
import type { IncomingMessage } from 'node:http';
import { requestBodyTooLargeMessage } from '@modelcontextprotocol/sdk/server/requestBody.js';
import { readBody } from '../util/declared-body.js';
import { holdsLoneSurrogate } from '../util/request-text.js';
import { requestKey } from './session-transport.js';

/** Whether the SDK gets as far as reading a POST's body (its Accept and Content-Type checks pass). */
export function sdkReadsBody(request: Request): boolean {
  const accept = request.headers.get('accept') ?? '';
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  return (
    accept.includes('application/json') && accept.includes('text/event-stream') && type === 'application/json'
  );
}

type Message = { method?: unknown; id?: unknown; params?: { requestId?: unknown } };

function messages(parsed: unknown): Message[] {
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.filter((m): m is Message => typeof m === 'object' && m !== null);
}

function isId(id: unknown): id is string | number {
  return typeof id === 'string' || typeof id === 'number';
}

/** Keys of the requests (a method and an id) in a message or batch. */
export function requestKeys(parsed: unknown): string[] {
  // One message (nearly every POST): no intermediate arrays.
  if (!Array.isArray(parsed)) {
    const m = parsed as Message | null;
    return typeof m === 'object' && m !== null && typeof m.method === 'string' && isId(m.id)
      ? [requestKey(m.id)]
      : [];
  }
  return messages(parsed).flatMap((m) =>
    typeof m.method === 'string' && isId(m.id) ? [requestKey(m.id)] : [],
  );
}

/** Requests a `notifications/cancelled` withdraws: the SDK will send them no answer. */
export function cancelledKeys(parsed: unknown): string[] {
  if (!Array.isArray(parsed) && (parsed as Message | null)?.method !== 'notifications/cancelled') return [];
  return messages(parsed).flatMap((m) =>
    m.method === 'notifications/cancelled' && isId(m.params?.requestId)
      ? [requestKey(m.params.requestId)]
      : [],
  );
}

/**
 * Refuses what the SDK would mishandle: an empty batch (it answered 202, as if
 * there were nothing to answer) and a request whose id is already in flight in
 * this session, or twice in one batch. The refusal carries id null: answering
 * with the duplicate id would hand it to the first request's caller.
 */
export function refuseBatch(parsed: unknown, inFlight: ReadonlySet<string>): Response | undefined {
  if (Array.isArray(parsed) && parsed.length === 0) {
    return jsonRpcError(400, -32600, 'Invalid Request: an empty batch');
  }
  const keys = requestKeys(parsed);
  if (keys.length === 1) {
    const only = keys[0] as string;
    return inFlight.has(only) ? duplicate() : undefined;
  }
  const seen = new Set<string>();
  for (const key of keys) {
    if (inFlight.has(key) || seen.has(key)) return duplicate();
    seen.add(key);
  }
  return undefined;
}

function duplicate(): Response {
  return jsonRpcError(409, -32600, 'Invalid Request: a request with this id is already in progress');
}

export function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/**
 * Reads a POST body as JSON under the body limit; a Response is the refusal (413, or 400 with
 * -32700 for a body that cannot be read, is not UTF-8, cannot be parsed or escapes a lone
 * surrogate). Bytes that are not UTF-8 are refused, not decoded to U+FFFD, and `"\ud800"` is
 * refused too: the policy would judge other text than the upstream reads. `incoming`: node's
 * request, read directly when it can be (util/declared-body.ts).
 */
export async function readJsonRpcBody(
  request: Request,
  max: number,
  incoming?: IncomingMessage,
): Promise<unknown> {
  const read = await readBody(request, max, incoming);
  if (!read.ok) {
    if (read.problem === 'too_large') return jsonRpcError(413, -32000, requestBodyTooLargeMessage(max));
    if (read.problem === 'not_utf8')
      return jsonRpcError(400, -32700, 'Parse error: the body is not valid UTF-8');
    return jsonRpcError(400, -32700, 'Parse error: the body could not be read');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.text);
  } catch {
    return jsonRpcError(400, -32700, 'Parse error: Invalid JSON');
  }
  if (holdsLoneSurrogate(read.text, parsed))
    return jsonRpcError(400, -32700, 'Parse error: the body escapes a lone surrogate (such as \\ud800)');
  return parsed;
}
