/**
 * Latin-1 bytes as a string, made where this machine makes a large one cheaply.
 *
 * Why: V8 puts any object over 128 KiB in its large-object space, on pages mapped for it and
 * unmapped when it dies, so every such string is fresh memory, and on this VM a page first
 * touched costs ~10-20 µs (bench/fresh-strings.ts: a 768 KiB string ~2.4 ms, against ~0.2 ms as
 * twelve of 64 KiB). Node makes a string of `EXTERN_APEX` bytes or more outside V8's heap, in
 * memory from malloc, which the allocator hands out again from call to call. So a string between
 * the two sizes is made `EXTERN_APEX` long (the bytes after it in its buffer, or a kept scratch
 * copy) and sliced to its length: V8's slice of a string shares its parent's characters (no
 * copy) and reads like any other string. The bytes past the slice are never read.
 *
 * Only the speed depends on Node's constant: were it to change, the string is the same. The cost
 * is memory: a text of 129 KiB holds ~1 MB outside the heap for as long as it lives, so this is
 * for texts that live as long as one call or one scan, not for anything kept.
 */

/** Above this many bytes V8 allocates a string in its large-object space. */
export const LARGE_OBJECT_BYTES = 128 * 1024;
/** From this many bytes Node makes a Latin-1 string external (src/string_bytes.cc). */
export const EXTERN_APEX = 0xfbee9;

let scratch: Buffer | undefined;

/** `bytes[from, to)` read as Latin-1 (exact for any byte: one character per byte). */
export function latin1Text(bytes: Uint8Array, from = 0, to = bytes.byteLength): string {
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = to - from;
  if (length <= LARGE_OBJECT_BYTES || length >= EXTERN_APEX) return view.toString('latin1', from, to);
  if (view.length - from >= EXTERN_APEX)
    return view.toString('latin1', from, from + EXTERN_APEX).slice(0, length);
  scratch ??= Buffer.allocUnsafeSlow(EXTERN_APEX);
  view.copy(scratch, 0, from, to);
  return scratch.toString('latin1', 0, EXTERN_APEX).slice(0, length);
}
