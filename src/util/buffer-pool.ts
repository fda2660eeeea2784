/**
 * Buffers reused from one request to the next for a long body: an agent's chunks joined before
 * decoding (declared-body.ts) and the LLM proxy's body serialised for the API
 * (llm/outgoing-json.ts). Fresh memory costs its page faults on this project's hosts (~20 µs a
 * page), so a long body in a new buffer each time paid ~1 ms per 200 KB; a buffer taken here is
 * memory touched before. At most `POOL_SIZE` buffers of up to `MAX_KEPT` each wait for reuse
 * (8 MB; a 200k-token conversation is about 1 MB).
 */

const POOL_SIZE = 4;
const MAX_KEPT = 2 * 1024 * 1024;

const free: Buffer<ArrayBuffer>[] = [];

/** A buffer of at least `atLeast` bytes, its contents left over: the caller writes what it reads. */
export function takeBuffer(atLeast: number): Buffer<ArrayBuffer> {
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const size = (free[i] as Buffer).length;
    if (size >= atLeast && (best < 0 || size < (free[best] as Buffer).length)) best = i;
  }
  if (best >= 0) return free.splice(best, 1)[0] as Buffer<ArrayBuffer>;
  // Rounded up, so a conversation that grows by a turn finds its buffer still fits.
  return Buffer.allocUnsafeSlow(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(atLeast))));
}

/** Gives a buffer back; the caller must not touch it again (a buffer given twice would serve two). */
export function giveBuffer(buffer: Buffer<ArrayBuffer>): void {
  if (buffer.length > MAX_KEPT) return;
  if (free.length >= POOL_SIZE) {
    // Keep the larger: a small one is cheap to make again.
    const smallest = free.reduce((s, b, i) => (b.length < (free[s] as Buffer).length ? i : s), 0);
    if ((free[smallest] as Buffer).length >= buffer.length) return;
    free.splice(smallest, 1);
  }
  free.push(buffer);
}

/** For tests: how many buffers wait for reuse. */
export function pooledBuffers(): number {
  return free.length;
}
