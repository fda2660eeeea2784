/**
 * A text's UTF-16 code units in a typed array: JavaScript loops over a long text read one from
 * a `Uint16Array` in about 60% of the time of `charCodeAt` (measured on 1 MiB of JSON).
 */

/** Kept for the next call up to this many code units (a 1 MiB text): larger ones get their own. */
const KEPT_CODE_UNITS = 1 << 20;
let keptCodes = new Uint16Array(0);
let keptView: Uint16Array = keptCodes;
let keptFor = '';
/** Views of `keptCodes`' first n code units, n ≤ SMALL_VIEWS, made as asked (valid until it grows). */
const SMALL_VIEWS = 512;
let smallViews: (Uint16Array | undefined)[] = [];
/** `keptCodes`' bytes, as a Buffer to write UTF-16LE into (little-endian machines only). */
let keptBytes: Buffer | null = null;

/**
 * The UTF-16 code units of `input`, written by node's native encoder into a kept array (valid
 * until the next call with another text). The last text's array is returned again: the PII pass
 * and the base64 search read the same text.
 */
export function codeUnits(input: string): Uint16Array {
  if (input === keptFor) {
    // `===` compares two strings' characters unless they are the same string: another string of
    // the same text, scrubbed right after it, was compared whole at each call, and the PII pass
    // calls once a run, so 1 MiB of prose scrubbed in 200-350 ms, not 5. Kept as this string, the
    // next calls compare one pointer.
    keptFor = input;
    return keptView;
  }
  const n = input.length;
  if (n > KEPT_CODE_UNITS) {
    // Its own array, but still kept for this text until the next one: the base64 search, the
    // escaped-run search and the PII probe each asked for it, and a fresh 8 MiB array each time
    // made a 4 MiB hostile text scrub at two thirds of the speed of a 1 MiB one.
    keptView = unitsOf(input, new Uint16Array(n));
    keptFor = input;
    return keptView;
  }
  if (n > keptCodes.length) {
    keptCodes = new Uint16Array(Math.min(KEPT_CODE_UNITS, Math.max(n, 2 * keptCodes.length, 1024)));
    smallViews = [];
    keptBytes = bytesOf(keptCodes);
  }
  // Written through the kept array's own byte view: a Buffer view made per text was garbage for
  // every short string scrubbed (each key and value of an audit event).
  unitsOf(input, keptCodes, keptBytes);
  if (n <= SMALL_VIEWS) {
    // A short text's view made once per length: a view per text was the rest of that garbage.
    keptView = smallViews[n] ??= keptCodes.subarray(0, n);
  } else keptView = keptCodes.subarray(0, n);
  keptFor = input;
  return keptView;
}

/** `utf16le` is the array's own layout only on a little-endian machine. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `codes`' bytes, to write UTF-16LE into, on a little-endian machine (null elsewhere). */
function bytesOf(codes: Uint16Array): Buffer | null {
  return LITTLE_ENDIAN ? Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength) : null;
}

/** Writes `input`'s code units at the start of `into` (through `bytes`, its byte view, if any). */
function unitsOf(input: string, into: Uint16Array, bytes: Buffer | null = bytesOf(into)): Uint16Array {
  if (bytes) bytes.write(input, 0, 2 * input.length, 'utf16le');
  else for (let k = 0; k < input.length; k++) into[k] = input.charCodeAt(k);
  return into;
}
