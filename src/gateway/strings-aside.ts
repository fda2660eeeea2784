/**
 * A plain-JSON answer's long strings kept out of the SDK's `JSON.stringify`
 * and written straight into the answer's bytes.
 *
 * The SDK serialises a `tools/call` answer whole. For a megabyte of tool
 * output that is `JSON.stringify` reading every character for escapes and
 * building its output in pieces (a rope), then the answer's byte count
 * flattening that rope into a fresh megabyte: about 1.6 ms of the main thread
 * per MB in the profile, and two megabytes more for the collector
 * (bench/README.md, 6 Dec). The string itself is already whole in memory.
 *
 * So a long string that JSON writes as it is (no character JSON escapes, no
 * lone surrogate: `"` + the string + `"` is exactly what `JSON.stringify`
 * makes of it) is put aside before the answer goes to the SDK, replaced by a
 * marker, and the SDK serialises what is left. The marker is letters and
 * digits only (valid base64 too, which the SDK's schema checks image data
 * against) and holds a random nonce of the HTTP request it answers, so no
 * text an upstream wrote can pose as one. The answer's bytes are then the
 * SDK's text with each marker's place filled by its string's UTF-8 bytes:
 * byte for byte what the SDK would have sent (strings-aside.test.ts).
 *
 * Only answers that leave through `HeldAnswer` (plain JSON, or a stream that
 * a held call turned it into) put strings aside; both of its ways out fill
 * the markers in.
 */
import { randomBytes } from 'node:crypto';
import { charCensus, JSON_LONG_ESCAPE, JSON_SHORT_ESCAPE } from '../util/char-census.js';

/** Strings of at least this many characters are put aside. */
export const ASIDE_MIN = 64 * 1024;

const PREFIX = 'BULKHEADASIDE';
/** Markers are all one length (a multiple of 4: base64-valid): PREFIX, 32 hex digits, 7 digits. */
const INDEX_DIGITS = 7;
const NONCE_BYTES = 16;
const MARKER_LENGTH = PREFIX.length + 2 * NONCE_BYTES + INDEX_DIGITS;

const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean })
  .isWellFormed;

/** Whether JSON writes `text` as it is, between two quotes. */
export function writtenAsIs(text: string): boolean {
  return (charCensus(text) & (JSON_LONG_ESCAPE | JSON_SHORT_ESCAPE)) === 0 && isWellFormed.call(text);
}

export class StringsAside {
  private readonly strings: string[] = [];
  private readonly nonce = randomBytes(NONCE_BYTES).toString('hex');

  /** Strings put aside so far. */
  get size(): number {
    return this.strings.length;
  }

  /**
   * `value` with each long string JSON writes as it is replaced by a marker (new objects and
   * arrays along the way; `value` itself is left as it is), or `value` when it holds none.
   */
  put<T>(value: T): T {
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') {
      if (value.length < ASIDE_MIN || !writtenAsIs(value)) return value;
      this.strings.push(value);
      return this.marker(this.strings.length - 1);
    }
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = this.walk(value[i]);
        if (item === value[i]) continue;
        out ??= value.slice();
        out[i] = item;
      }
      return out ?? value;
    }
    let out: Record<string, unknown> | undefined;
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = this.walk(record[key]);
      if (item === record[key]) continue;
      out ??= { ...record };
      out[key] = item;
    }
    return out ?? value;
  }

  private marker(index: number): string {
    return `${PREFIX}${this.nonce}${String(index).padStart(INDEX_DIGITS, '0')}`;
  }

  /** Where each marker is in `body`, in order: [at, index] pairs. */
  private places(body: string): [number, number][] {
    const head = `${PREFIX}${this.nonce}`;
    const found: [number, number][] = [];
    for (let at = body.indexOf(head); at >= 0; at = body.indexOf(head, at + head.length)) {
      const index = Number(body.slice(at + head.length, at + head.length + INDEX_DIGITS));
      if (Number.isInteger(index) && index < this.strings.length) found.push([at, index]);
    }
    return found;
  }

  /** `body` (the SDK's text) with every marker replaced by its string. */
  text(body: string): string {
    if (this.strings.length === 0) return body;
    let out = '';
    let from = 0;
    for (const [at, index] of this.places(body)) {
      out += body.slice(from, at) + (this.strings[index] as string);
      from = at + MARKER_LENGTH;
    }
    return out + body.slice(from);
  }

  /**
   * `body`'s UTF-8 bytes with every marker replaced by its string's, in a buffer from `take`
   * (given the exact byte count); undefined when `body` holds no marker.
   */
  bytes(body: string, take: (size: number) => Buffer<ArrayBuffer>): Buffer<ArrayBuffer> | undefined {
    const places = this.places(body);
    if (places.length === 0) return undefined;
    let total = Buffer.byteLength(body, 'utf8') - places.length * MARKER_LENGTH;
    for (const [, index] of places) total += Buffer.byteLength(this.strings[index] as string, 'utf8');
    const buffer = take(total);
    let offset = 0;
    let from = 0;
    for (const [at, index] of places) {
      offset += buffer.write(body.slice(from, at), offset, 'utf8');
      offset += buffer.write(this.strings[index] as string, offset, 'utf8');
      from = at + MARKER_LENGTH;
    }
    offset += buffer.write(body.slice(from), offset, 'utf8');
    return buffer.subarray(0, offset);
  }
}
