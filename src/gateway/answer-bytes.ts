/**
 * An agent's long plain-JSON answer, handed to the HTTP server as its UTF-8
 * bytes rather than as the string the SDK made.
 *
 * The SDK answers a request with `new Response(JSON.stringify(message))`.
 * `JSON.stringify` builds its output in pieces (a rope), and each native read
 * of a rope first copies it whole into a new string: a fresh allocation, which
 * on this project's hosts costs about 3.5 ms per MB in page faults alone. The
 * agent-facing server (@hono/node-server) wrote a string body with two such
 * reads and a third fresh copy: `Buffer.byteLength` for its length (the rope
 * copied flat), `end(body)` with the response head prepended (`head + body`,
 * another rope, copied flat again), and the socket's UTF-8 copy of that. Beside
 * a neighbour's 4 MB answer that was ~50 ms of the main thread in one turn
 * (bench/README.md, neighbours, 1 Dec 21:40). Here the string is encoded once,
 * in a turn of its own, and the server writes the bytes as they are: the same
 * head, the same `Content-Length` (the same count: node's UTF-8 encoder either
 * way), the same body.
 *
 * The body string is read from the server's lightweight Response, which keeps
 * it under a symbol of its own; if that ever changes, the answer goes on as the
 * SDK made it (slower, never different).
 *
 * Given node's response, the bytes are written into a pooled buffer
 * (util/buffer-pool.ts: answers up to 2 MB), taken back once node has handed
 * them all to the socket or the response ended without: a fresh megabyte cost
 * its page faults each time (bench/README.md, 5 Dec).
 */
import type { ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { giveBuffer, takeBuffer } from '../util/buffer-pool.js';
import type { StringsAside } from './strings-aside.js';

/** Answers with at least this many characters are sent as bytes; shorter ones as they are. */
export const LONG_ANSWER = 256 * 1024;

/** @hono/node-server's Response keeps `[status, body, headers]` under a symbol described `cache`. */
type Kept = [number, unknown, unknown];

function keptOf(response: Response): Kept | undefined {
  for (const key of Object.getOwnPropertySymbols(response)) {
    if (key.description !== 'cache') continue;
    const kept = (response as unknown as Record<symbol, unknown>)[key];
    if (Array.isArray(kept) && kept.length === 3 && typeof kept[0] === 'number') return kept as Kept;
  }
  return undefined;
}

/**
 * `response` with its body as bytes when it is a string of `LONG_ANSWER` characters or more
 * (encoded a turn later, so the SDK's serialising and this copy hold the event loop apart);
 * otherwise `response` itself, at once. `outgoing`: the node response that will send it.
 */
export function longAnswerAsBytes(
  response: Response,
  outgoing?: ServerResponse,
  aside?: StringsAside,
): Response | Promise<Response> {
  // Strings put aside (strings-aside.ts) make a short body a long answer.
  const spliced = aside !== undefined && aside.size > 0;
  const kept = keptOf(response);
  const body = kept?.[1];
  if (!kept || typeof body !== 'string') return spliced ? filledIn(response, aside) : response;
  if (!spliced && body.length < LONG_ANSWER) return response;
  const [status, , headers] = kept;
  return nextTurn().then(() => {
    // A response already ended (the agent left) would never give a pooled buffer back.
    const pooled = outgoing && !outgoing.destroyed && !outgoing.writableEnded;
    const take = pooled
      ? (size: number) => pooledBuffer(size, outgoing)
      : (size: number) => Buffer.allocUnsafeSlow(size);
    const bytes =
      (spliced ? aside.bytes(body, take) : undefined) ??
      writeInto(body, take(Buffer.byteLength(body, 'utf8')));
    return new Response(bytes, {
      status,
      ...(headers !== undefined ? { headers: headers as HeadersInit } : {}),
    });
  });
}

/**
 * An answer whose body the server does not keep as a string (never the SDK's today): read, its
 * markers filled in, and made anew. Slower, never different; a marker never reaches the agent.
 */
async function filledIn(response: Response, aside: StringsAside): Promise<Response> {
  const text = aside.text(await response.text());
  return new Response(text, { status: response.status, headers: response.headers });
}

function writeInto(body: string, buffer: Buffer<ArrayBuffer>): Buffer<ArrayBuffer> {
  return buffer.subarray(0, buffer.write(body, 0, 'utf8'));
}

/**
 * A pooled buffer of at least `size` bytes, given back when `outgoing` has handed every byte to
 * the socket ('finish') or ended without ('close', its socket closed): node holds the bytes until
 * one of the two, so no other answer can be written over them first.
 */
function pooledBuffer(size: number, outgoing: ServerResponse): Buffer<ArrayBuffer> {
  const buffer = takeBuffer(size);
  let given = false;
  const giveBack = () => {
    // Twice given back would hand one buffer to two answers at once.
    if (given) return;
    given = true;
    giveBuffer(buffer);
  };
  outgoing.once('finish', giveBack);
  outgoing.once('close', giveBack);
  return buffer;
}
