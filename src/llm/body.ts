/**
 * Reading an agent's request body, bounded. The declared length is checked
 * before anything is read; a chunked body (no length) is counted as it
 * arrives and the read stops at the limit, so a 100 MB body costs the limit,
 * not 100 MB. Nesting is checked before parsing: a body nested 100,000 deep
 * would parse, then overflow the stack of whatever walks it next (the
 * estimate, the scrubber), far from here and outside the API's error shape.
 * Non-finite numbers are refused in the same pass: `1e400` parses to
 * Infinity, which budgets would reserve and JSON would forward as `null`.
 */
import { apiError } from './errors.js';

/** Deeper JSON than this is refused; real requests (tool schemas included) nest a few dozen levels. */
export const MAX_DEPTH = 256;

export type BodyResult = { ok: true; body: Record<string, unknown> } | { ok: false; response: Response };

const tooLarge = (): BodyResult => ({
  ok: false,
  response: apiError(413, 'request_too_large', 'The request is too large.'),
});

export async function readJsonBody(req: Request, maxBody: number): Promise<BodyResult> {
  const declared = req.headers.get('content-length');
  if (Number(declared ?? 0) > maxBody) return tooLarge();
  // With a declared length Node's parser delivers exactly that many bytes, so the whole read is
  // bounded; `text()` then reads the socket directly (the node adapter's fast path) instead of
  // building a web stream and a full Request for `body`. Chunked bodies are counted as they come.
  const text =
    declared !== null && /^\d{1,15}$/.test(declared) ? await req.text() : await readBounded(req, maxBody);
  if (text === undefined) return tooLarge();
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
    return { ok: true, body: body as Record<string, unknown> };
  } catch {
    return { ok: false, response: apiError(400, 'invalid_request_error', 'The body must be a JSON object.') };
  }
}

/** The body as text, or undefined once it passes `max` bytes (the rest is never read). */
async function readBounded(req: Request, max: number): Promise<string | undefined> {
  if (!req.body) return '';
  const reader = req.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
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
export function scanJson(text: string): { depth: number; nonFinite: boolean } {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let nonFinite = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: the next character is escaped
      else if (c === 34) inString = false;
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
