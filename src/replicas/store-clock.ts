/**
 * The store's clock, as this replica reads it. Replicas compare times they
 * did not write themselves: an approval's deadline set by one and checked by
 * another at a vote, a run's expiry, a lease's heartbeat. With each
 * replica's own clock, one an hour ahead refuses every vote on another's
 * approvals as expired and times them out. PostgreSQL stamps leases with its
 * own clock already; this gives every other time the gateway compares the
 * same origin: the local clock plus the offset to the store's, measured at
 * start-up and at every heartbeat (the store's time is taken as read halfway
 * through the round trip, so the error is at most half of it). On SQLite the
 * store's clock is this host's, and the offset stays about zero.
 */
import type { ReplicaStore } from '../store/store.js';

export class StoreClock {
  private offset = 0;

  /** Milliseconds since the epoch by the store's clock. */
  readonly now = (): number => Date.now() + this.offset;

  /** The store said `storeNow` while this replica's clock went from `before` to `after`. */
  observe(storeNow: number, before: number, after: number): void {
    if (Number.isFinite(storeNow) && after >= before)
      this.offset = Math.round(storeNow - (before + after) / 2);
  }

  /** Reads the store's clock once (start-up, before anything compares a time). */
  async sync(replicas: ReplicaStore): Promise<void> {
    const before = Date.now();
    const { now } = await replicas.list();
    this.observe(now, before, Date.now());
  }

  /** How far the store's clock is ahead of this replica's (negative: behind), for health. */
  get offsetMs(): number {
    return this.offset;
  }
}
