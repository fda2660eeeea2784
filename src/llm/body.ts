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
 * request (util/declared-body.ts); anything else goes through `readRequestText`.
 */
import type { IncomingMessage } from 'node:http';
import { readBody } from '../util/declared-body.js';
import { holdsLoneSurrogate } from '../util/request-text.js';
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

/** `incoming`: node's request when node serves the proxy (read directly when it can be). */
export async function readJsonBody(
  req: Request,
  maxBody: number,
  incoming?: IncomingMessage,
): Promise<BodyResult> {
  // On SQLite the proxy gets here inside node's request event (no store read before it:
  // exchange.ts): readBody waits the microtask that node's parser needs.
  const read = await readBody(req, maxBody, incoming);
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
