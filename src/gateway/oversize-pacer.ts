/**
 * The rest of an answer that is already past its tool's budget is read at a
 * bounded pace while other calls are in flight. Those bytes are waste: the
 * gateway reads them only to find the end of the message, and the agent gets
 * the budget's worth (precut.ts). Read flat out, a neighbour pulling a 9 MB
 * answer cut to 256 KB six times a second kept the gateway's threads and its
 * upstream busy for everyone else: per megabyte the gateway spends 6–8 ms of
 * CPU (reading, copying to a worker, parsing), so 16 MB/s holds one
 * upstream's waste to about a tenth of a core. Alone on the gateway, an
 * answer is read at full speed (nobody is waiting), but its bytes still
 * count: the short gaps between another agent's calls must not wipe the
 * pace out. What was read alone carries at most one burst of debt into a
 * busy spell, so a large read is not made to wait for long when someone
 * arrives.
 *
 * Only HTTP upstreams are paced (http-response.ts): an HTTP server buffers what
 * it cannot send yet and goes on serving, while a stdio server writes its
 * stdout synchronously, so pausing the pipe would stall all of its work.
 */

/** How fast one upstream's answers past their budget are read while others wait. */
export const OVERSIZE_BYTES_PER_SECOND = 16 * 1024 * 1024;

export class OversizePacer {
  /** Bytes that may be read now; negative: read ahead of the pace by that much. */
  private allowance: number;
  private last: number;
  /** Pauses asked for: for tests. */
  readonly counts = { pauses: 0 };

  constructor(
    /** Whether other calls are in flight (anyone who would wait for this one's reading). */
    private readonly contended: () => boolean,
    readonly bytesPerSecond = OVERSIZE_BYTES_PER_SECOND,
    /** Read without waiting up to this much after a quiet spell. */
    readonly burst = bytesPerSecond / 8,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.allowance = burst;
    this.last = now();
  }

  /**
   * Counts `bytes` read of an answer past its budget: how long to stop reading before the next
   * chunk, in ms (0: go on).
   */
  charge(bytes: number): number {
    const at = this.now();
    this.allowance = Math.min(this.burst, this.allowance + ((at - this.last) / 1000) * this.bytesPerSecond);
    this.last = at;
    this.allowance -= bytes;
    if (!this.contended()) {
      this.allowance = Math.max(this.allowance, -this.burst);
      return 0;
    }
    if (this.allowance >= 0) return 0;
    this.counts.pauses++;
    return (-this.allowance / this.bytesPerSecond) * 1000;
  }
}
