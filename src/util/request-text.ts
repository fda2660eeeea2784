/**
 * An agent's request body as text, bounded and strictly UTF-8. `Request.text()`
 * and a non-fatal `TextDecoder` replace every byte that is not UTF-8 with
 * U+FFFD, so an overlong `/` (C0 AF), a lone surrogate (ED A0 80) or a cut
 * sequence reached the policy, the scrubber and the upstream as some other
 * text than the client sent. Here the bytes are checked whole with
 * `buffer.isUtf8` (simdutf: about 0.1 ms per MB) before they are decoded;
 * a body that arrives in chunks is joined first, so a character split across
 * chunks is checked as the character it is.
 *
 * The declared length is checked before anything is read; a chunked body
 * (no length) is counted as it arrives and the read stops past the limit, so
 * a 100 MB body costs the limit, not 100 MB.
 */
import { isUtf8 } from 'node:buffer';

export type RequestText =
  /** `bytes`: the body's size as sent (before decoding). */
  { ok: true; text: string; bytes: number } | { ok: false; problem: 'too_large' | 'not_utf8' | 'unreadable' };

// Non-fatal is fine: it only ever decodes bytes isUtf8 accepted. It drops a leading BOM, as text() did.
const decoder = new TextDecoder();

export async function readRequestText(request: Request, max: number): Promise<RequestText> {
  try {
    const declared = request.headers.get('content-length');
    if (declared !== null && /^\d{1,15}$/.test(declared)) {
      if (Number(declared) > max) return { ok: false, problem: 'too_large' };
      // With a declared length Node's parser delivers exactly that many bytes, so reading it
      // whole is bounded; the node adapter then reads the socket directly, without a web stream.
      const bytes = new Uint8Array(await request.arrayBuffer());
      if (!isUtf8(bytes)) return { ok: false, problem: 'not_utf8' };
      return { ok: true, text: decoder.decode(bytes), bytes: bytes.byteLength };
    }
    return await readBounded(request, max);
  } catch {
    return { ok: false, problem: 'unreadable' };
  }
}

/**
 * A chunked body, decoded as it arrives by a fatal streaming decoder (a character split across
 * chunks is held until its last byte comes), counted, and dropped once past `max` (the rest is
 * never read).
 */
async function readBounded(request: Request, max: number): Promise<RequestText> {
  if (!request.body) return { ok: true, text: '', bytes: 0 };
  const reader = request.body.getReader();
  const strict = new TextDecoder('utf-8', { fatal: true });
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, problem: 'too_large' };
    }
    try {
      text += strict.decode(value, { stream: true });
    } catch {
      await reader.cancel().catch(() => undefined);
      return { ok: false, problem: 'not_utf8' };
    }
  }
  try {
    return { ok: true, text: text + strict.decode(), bytes: size };
  } catch {
    return { ok: false, problem: 'not_utf8' };
  }
}

/** A `\u` escape of a surrogate: the only way well-formed UTF-8 text can spell a lone one. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean })
  .isWellFormed;

/**
 * Whether JSON text parsed to `parsed` holds a lone surrogate (`"\ud800"`), which is no character:
 * the policy judges one string while an upstream's decoder replaces it, drops it (joining what it
 * split) or refuses it. Valid UTF-8 cannot carry one, so only a surrogate escape can, and text
 * without any costs one native search; otherwise every string and key is checked, without
 * recursion (the value may nest deeply).
 */
export function holdsLoneSurrogate(text: string, parsed: unknown): boolean {
  if (!SURROGATE_ESCAPE.test(text)) return false;
  const stack: unknown[] = [parsed];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (!isWellFormed.call(value)) return true;
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (!isWellFormed.call(key)) return true;
        stack.push(item);
      }
    }
  }
  return false;
}
