/**
 * At most `limit` large answers of one upstream with the inspection workers
 * at a time. A fetch reading another large answer of that upstream while the
 * gate is full pauses its socket (http-response.ts) until a place frees: the
 * upstream's writes back up in TCP and a flooding producer is slowed to the
 * pace the workers keep, instead of every answer being read into memory at
 * once and queued for the workers (ten concurrent 60 MB answers held
 * 600 MB), and one upstream cannot keep every worker busy while another
 * upstream's agents wait. An answer that became whole before it could pause
 * waits its turn in order (`run`); a place passes straight to it.
 */

/** How many large answers of one upstream are with the workers at once. */
export const LARGE_PER_UPSTREAM = 1;

export class LargeGate {
  private inside = 0;
  /** Whole answers waiting for a place, in order: each is handed the place of one that left. */
  private readonly queued: (() => void)[] = [];
  /** Readers paused mid-answer: resumed when a place is free. */
  private readonly readers: (() => void)[] = [];
  /** The most inside at once, readers paused and whole answers queued: for tests. */
  readonly counts = { peak: 0, waits: 0, queued: 0 };

  constructor(readonly limit = LARGE_PER_UPSTREAM) {}

  /** Whether an answer finished now would have to wait. */
  full(): boolean {
    return this.inside >= this.limit;
  }

  /** Calls `resume` once a place is free (at once if one is). */
  whenFree(resume: () => void): void {
    if (!this.full()) {
      resume();
      return;
    }
    this.counts.waits++;
    this.readers.push(resume);
  }

  /** Runs `job` in a place of its own, waiting in order for one; the place is held until it settles. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.full()) {
      this.counts.queued++;
      // Handed over by the job that leaves: `inside` already counts this one.
      await new Promise<void>((resolve) => this.queued.push(resolve));
    } else this.inside++;
    this.counts.peak = Math.max(this.counts.peak, this.inside);
    try {
      return await job();
    } finally {
      const next = this.queued.shift();
      if (next) next();
      else {
        this.inside--;
        for (const resume of this.readers.splice(0)) resume();
      }
    }
  }
}
