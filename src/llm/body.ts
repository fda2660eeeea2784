/**
 * Reading an agent's request body, bounded and strictly UTF-8
 * (util/request-text.ts: a declared length over the limit is refused before
 * anything is read, a chunked body stops being read at the limit, and bytes
 * that are not UTF-8 are refused, not decoded to U+FFFD; so is a JSON escape
 * of a lone surrogate, `"\ud800"`). Nesting is checked before parsing: a body nested 100,000 deep
 * would parse, then overflow the stack of whatever walks it next (the
 * estimate, the scrubber), far from here and outside the API's error shape.
 * Non-finite numbers are refused in the same pass: `1e400` parses to
 * Infinity, which budgets would reserve and JSON would forward as `null`.
 *
 * Served by node, a body with a declared length is read straight from node's
 * request (`readDeclared`) with the same checks as `readRequestText`'s
 * declared-length path: the web Request in between cost a copy of the body and
 * a few event-loop turns (about 40 µs on a short prompt, on the path to the
 * first byte). Anything else (chunked, a length node did not take as one, a
 * body someone already began to read) goes through `readRequestText`.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { holdsLoneSurrogate, type RequestText, readRequestText } from '../util/request-text.js';
import { giveBuffer, takeBuffer } from './buffer-pool.js';
import { apiError } from './errors.js';

/** Deeper JSON than this is refused; real requests (tool schemas included) nest a few dozen levels. */
export const MAX_DEPTH = 256;

/** `bytes`: the body's size as sent, an upper bound of any part of it re-serialised (usage.ts). */
export type BodyResult =
  | { ok: true; body: Record<string, unknown>; bytes: number }
  | { ok: false; response: Response };

const loneSurrogate = (): BodyResult => ({
  ok: false,
  response: apiError(
    400,
    'invalid_request_error',
    'The body escapes a lone surrogate (such as \\ud800), which is no character.',
  ),
});

const tooLarge = (): BodyResult => ({
  ok: false,
  response: apiError(413, 'request_too_large', 'The request is too large.'),
});

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

/** `incoming`: node's request when node serves the proxy (read directly when it can be). */
export async function readJsonBody(
  req: Request,
  maxBody: number,
  incoming?: IncomingMessage,
): Promise<BodyResult> {
  // On SQLite the proxy gets here inside node's request event (no store read before it:
  // exchange.ts), before node's parser has pushed the body that came in the packet of the
  // request's head; a microtask later the parser has, and a short body is taken whole.
  if (incoming) await undefined;
  const direct = incoming ? readDeclared(incoming, maxBody) : undefined;
  const read = await (direct ?? readRequestText(req, maxBody));
  if (!read.ok) {
    if (read.problem === 'too_large') return tooLarge();
    const message =
      read.problem === 'not_utf8' ? 'The body is not valid UTF-8.' : 'The body could not be read.';
    return { ok: false, response: apiError(400, 'invalid_request_error', message) };
  }
  const text = read.text;
  const scan = scanJson(text);
  if (scan.depth > MAX_DEPTH)
    return {
      ok: false,
      response: apiError(400, 'invalid_request_error', `The body nests deeper than ${MAX_DEPTH} levels.`),
    };
  if (scan.nonFinite)
    return {
      ok: false,
      response: apiError(
        400,
        'invalid_request_error',
        'The body holds a number too large to be finite (such as 1e400).',
      ),
    };
  try {
    const body = JSON.parse(text) as unknown;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    if (holdsLoneSurrogate(text, body)) return loneSurrogate();
    return { ok: true, body: body as Record<string, unknown>, bytes: read.bytes };
  } catch {
    return { ok: false, response: apiError(400, 'invalid_request_error', 'The body must be a JSON object.') };
  }
}

/** The deepest nesting of arrays and objects in JSON text; linear, strings skipped. */
export function nestingDepth(text: string): number {
  return scanJson(text).depth;
}

/**
 * One linear pass over JSON text, strings skipped: the deepest nesting, and whether a number
 * literal overflows to ±Infinity. Only literals with an exponent or over 300 characters can,
 * so only those are converted.
 */
/** Whether the quote at `at` is escaped: an odd number of backslashes right before it. */
function escapedAt(text: string, at: number): boolean {
  let k = at - 1;
  while (k >= 0 && text.charCodeAt(k) === 92) k--;
  return (at - 1 - k) % 2 === 1;
}

export function scanJson(text: string): { depth: number; nonFinite: boolean } {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let nonFinite = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // Most of a prompt is inside strings: jump to the next quote with a native search
      // (about 10× the character loop on a long conversation, on the path to the first byte).
      // It ends the string unless an odd run of backslashes escapes it.
      let quote = text.indexOf('"', i);
      while (quote !== -1 && escapedAt(text, quote)) quote = text.indexOf('"', quote + 1);
      if (quote === -1) break;
      i = quote;
      inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 93 || c === 125) depth--;
    else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      let exponent = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d === 101 || d === 69) exponent = true;
        else if (!((d >= 48 && d <= 57) || d === 46 || d === 43 || d === 45)) break;
      }
      if ((exponent || j - i > 300) && !Number.isFinite(Number(text.slice(i, j)))) nonFinite = true;
      i = j - 1;
    }
  }
  return { depth: deepest, nonFinite };
}
