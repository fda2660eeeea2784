/**
 * A request body with a declared length, read straight from node's request with the same checks
 * as `readRequestText`'s declared-length path (util/request-text.ts: over the limit refused
 * before anything is read, bytes that are not UTF-8 refused, not decoded to U+FFFD). The web
 * Request in between cost a copy of the body and a few event-loop turns: about 40 µs on a short
 * prompt on the LLM proxy's path to the first byte, and 116 µs of a small `tools/call`'s way from
 * the MCP endpoint to the pipeline (bench/README.md, 5 Dec). Anything else (chunked, a length node
 * did not take as one, a body someone already began to read) is left to `readRequestText`:
 * `readDeclared` answers undefined.
 *
 * `readBody` is the entry point: node's request when there is one, else (or when it cannot be
 * read here) the web Request.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { giveBuffer, takeBuffer } from './buffer-pool.js';
import { type RequestText, readRequestText } from './request-text.js';

/**
 * `request`'s body as `readRequestText` reads it, taken from `incoming` (node's request, when node
 * serves it) whenever `readDeclared` can.
 */
export async function readBody(
  request: Request,
  max: number,
  incoming?: IncomingMessage,
): Promise<RequestText> {
  if (!incoming) return readRequestText(request, max);
  // Called inside node's request event, before node's parser has pushed a body that came in the
  // packet of the request's head; a microtask later it has, and a short body is taken whole.
  await undefined;
  return readDeclared(incoming, max) ?? readRequestText(request, max);
}

// Non-fatal, as readRequestText's: it only decodes bytes isUtf8 accepted, and drops a leading BOM.
const decoder = new TextDecoder();

/**
 * A body with a declared length from node's request: over `max` refused before anything is
 * read; else read whole (node's parser delivers exactly the declared bytes), checked to be
 * UTF-8, decoded. Undefined when the body is not for this path (see the module comment).
 */
export function readDeclared(incoming: IncomingMessage, max: number): Promise<RequestText> | undefined {
  const declared = incoming.headers['content-length'];
  if (declared === undefined || !/^\d{1,15}$/.test(declared)) return undefined;
  if (incoming.headers['transfer-encoding'] !== undefined) return undefined;
  if (incoming.readableDidRead || incoming.readableEnded || incoming.destroyed) return undefined;
  if (Number(declared) > max) return Promise.resolve({ ok: false, problem: 'too_large' });
  // Usually a short body came in the packets of its head, and node's parser had buffered all of
  // it while the run was read: taken at once, not a turn of the event loop per stream event
  // (about 40 µs of the 60 the read cost in situ). The parser delivers exactly the declared
  // bytes, so all of them buffered is the whole body; resumed, the stream ends as it would.
  if (incoming.readableEncoding === null && incoming.readableLength === Number(declared)) {
    const whole = (incoming.read() as Buffer | null) ?? Buffer.alloc(0);
    incoming.resume();
    return Promise.resolve(decodeBody(whole));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: RequestText) => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onFail);
      incoming.off('close', onFail);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.byteLength;
    };
    const onEnd = () => {
      done(chunks.length === 1 ? decodeBody(chunks[0] as Buffer) : decodeChunks(chunks, size));
    };
    // Cut before its end (the agent went away): nothing sound was read.
    const onFail = () => done({ ok: false, problem: 'unreadable' });
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onFail);
    incoming.once('close', onFail);
  });
}

/**
 * A body's chunks decoded as one run of bytes, joined in a pooled buffer (buffer-pool.ts) that is
 * given back as soon as the text is made: a fresh buffer per body cost its page faults each time.
 */
function decodeChunks(chunks: readonly Buffer[], size: number): RequestText {
  const buffer = takeBuffer(size);
  try {
    let at = 0;
    for (const chunk of chunks) at += chunk.copy(buffer, at);
    return decodeBody(buffer.subarray(0, size));
  } finally {
    giveBuffer(buffer);
  }
}

/** Reads `bytes` only while it runs: it may be a pooled buffer (`decodeChunks`). */
function decodeBody(bytes: Buffer): RequestText {
  return isUtf8(bytes)
    ? { ok: true, text: decoder.decode(bytes), bytes: bytes.byteLength }
    : { ok: false, problem: 'not_utf8' };
}
