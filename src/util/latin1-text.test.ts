import { describe, expect, it } from 'vitest';
import { EXTERN_APEX, LARGE_OBJECT_BYTES, latin1Text } from './latin1-text.js';

/** Every byte value in turn, `length` of them. */
function allBytes(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let k = 0; k < length; k++) bytes[k] = (k * 7) & 0xff;
  return bytes;
}

const SIZES = [
  0,
  1,
  12,
  13,
  LARGE_OBJECT_BYTES,
  LARGE_OBJECT_BYTES + 1,
  500_000,
  EXTERN_APEX - 1,
  EXTERN_APEX,
];

describe('latin1Text', () => {
  it('reads each byte as the character of that code, at every size', () => {
    const bytes = allBytes(EXTERN_APEX + 100);
    for (const size of SIZES) {
      expect(latin1Text(bytes, 50, 50 + size), `size ${size}`).toBe(bytes.toString('latin1', 50, 50 + size));
    }
  });

  it('never lets the bytes after the range into the text', () => {
    const bytes = allBytes(EXTERN_APEX + 10);
    const text = latin1Text(bytes, 0, 300_000);
    expect(text.length).toBe(300_000);
    expect(text).toBe(bytes.toString('latin1', 0, 300_000));
  });

  it('reads a typed-array view at its own offset, with no room after it', () => {
    const backing = allBytes(400_000);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 1000, 300_000);
    expect(latin1Text(view)).toBe(backing.toString('latin1', 1000, 301_000));
  });

  it('leaves a text as it was when the next is made from the same scratch copy', () => {
    const first = latin1Text(new Uint8Array(200_000).fill(0x61));
    latin1Text(new Uint8Array(200_000).fill(0x62));
    expect(first).toBe('a'.repeat(200_000));
  });

  it('keeps a large text outside V8 heap pages of its own (no fresh pages per text)', () => {
    // Twenty texts of 300 KB held at once: in V8's heap they would take 6 MB of it.
    const bytes = allBytes(300_000);
    const before = process.memoryUsage();
    const held = Array.from({ length: 20 }, () => latin1Text(bytes));
    const after = process.memoryUsage();
    expect(held.every((text) => text.length === 300_000)).toBe(true);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(1_000_000);
    expect(after.external - before.external).toBeGreaterThan(20 * EXTERN_APEX - 1_000_000);
  });
});
