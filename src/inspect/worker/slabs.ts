/**
 * Reused shared memory for the large messages the main thread hands to the
 * inspection workers (pool.ts). Joining a 9 MB answer into a fresh buffer to
 * transfer it cost the event loop about 5 ms per answer, most of it the
 * kernel faulting in and zeroing new pages (and the garbage collector then
 * chasing that external memory); copying it into a slab that is already
 * mapped costs about 1 ms. A slab is lent to one job and given back when the
 * worker has answered (it reads the bytes, copying them into its own
 * strings, before it answers); a slab whose worker died is dropped, not
 * reused.
 *
 * Bounded: messages over `maxSlab` bytes get no slab (the caller joins them as
 * before), at most `keep` slabs wait for reuse, and idle ones are let go
 * after `idleMs`, so a burst of large answers does not hold memory for good.
 */

const MiB = 1024 * 1024;

export interface SlabOptions {
  /** Largest slab lent (bytes); larger messages are joined into a buffer of their own. */
  maxSlab?: number;
  /** How many returned slabs are kept for reuse. */
  keep?: number;
  /** Kept slabs unused this long are let go. */
  idleMs?: number;
}

export class Slabs {
  private readonly maxSlab: number;
  private readonly keep: number;
  private readonly idleMs: number;
  private readonly free: SharedArrayBuffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Slabs made and lends served from a kept one: for tests. */
  readonly counts = { made: 0, reused: 0 };

  constructor(options: SlabOptions = {}) {
    this.maxSlab = options.maxSlab ?? 32 * MiB;
    this.keep = options.keep ?? 2;
    this.idleMs = options.idleMs ?? 30_000;
  }

  /** A slab of at least `size` bytes, or undefined when `size` is over the largest lent. */
  take(size: number): SharedArrayBuffer | undefined {
    if (size > this.maxSlab) return undefined;
    // The smallest kept slab that fits.
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const slab = this.free[i] as SharedArrayBuffer;
      if (
        slab.byteLength >= size &&
        (best < 0 || slab.byteLength < (this.free[best] as SharedArrayBuffer).byteLength)
      )
        best = i;
    }
    if (best >= 0) {
      this.counts.reused++;
      return this.free.splice(best, 1)[0];
    }
    this.counts.made++;
    // Rounded up to a whole MiB (at most maxSlab), so answers of about one size share slabs.
    return new SharedArrayBuffer(Math.min(this.maxSlab, Math.ceil(size / MiB) * MiB));
  }

  /** Gives a slab back once no worker reads it any more; the smallest goes when too many are kept. */
  give(slab: SharedArrayBuffer): void {
    this.free.push(slab);
    if (this.free.length > this.keep) {
      this.free.sort((a, b) => b.byteLength - a.byteLength);
      this.free.length = this.keep;
    }
    this.timer?.refresh();
    this.timer ??= setTimeout(() => {
      this.free.length = 0;
      this.timer = undefined;
    }, this.idleMs).unref();
  }

  /** Slabs waiting for reuse (for tests). */
  kept(): number {
    return this.free.length;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.free.length = 0;
  }
}

/** Copies `parts` (`size` bytes in all) to the start of `slab`; a view of them there. */
export function fill(slab: SharedArrayBuffer, parts: readonly Uint8Array[], size: number): Uint8Array {
  const view = new Uint8Array(slab, 0, size);
  let offset = 0;
  for (const part of parts) {
    view.set(part, offset);
    offset += part.length;
  }
  return view;
}
