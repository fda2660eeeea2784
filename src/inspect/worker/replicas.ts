/**
 * Scrubber families replicated into the inspection workers, split from
 * pool.ts as its own concept: replicated, not shared. The first job of a
 * family on a worker sends it the family's configuration and every secret
 * added so far (and not forgotten), and each later `addSecrets` and
 * `forgetSecrets` is posted to every worker that has the family at once,
 * synchronously. A port delivers in order, so a job
 * always finds the secrets that existed when it was posted. A worker started
 * after a death has no family yet, so it is sent them again.
 */
import type { ScrubberBase } from '../../scrub/replica.js';
import type { Live, LiveWorkers } from './live-workers.js';
import type { ToWorker } from './protocol.js';

export class FamilyReplicas {
  private readonly families = new Map<number, { base: ScrubberBase; unsubscribe: () => void }>();

  constructor(private readonly workers: LiveWorkers) {}

  /** Before a job of family `base` is posted to `live`: the family's later secrets followed, and `live` sent it if new to it. */
  send(live: Live, base: ScrubberBase): void {
    this.follow(base);
    if (live.bases.has(base.id)) return;
    live.bases.add(base.id);
    live.worker.postMessage({
      type: 'base',
      base: base.id,
      configured: base.configured,
      added: base.added(),
      disableRules: base.disableRules,
      maxDepth: base.maxDepth,
    } satisfies ToWorker);
  }

  /** Stops following every family. */
  close(): void {
    for (const family of this.families.values()) family.unsubscribe();
    this.families.clear();
  }

  /** Forwards a family's later secrets to every worker that has it, the moment they are added. */
  private follow(base: ScrubberBase): void {
    if (this.families.has(base.id)) return;
    const unsubscribe = base.subscribe((change) => {
      this.workers.postToFamily(base.id, {
        type: 'secrets',
        base: base.id,
        values: change.values,
        forget: change.kind === 'forgotten',
      });
    });
    this.families.set(base.id, { base, unsubscribe });
  }
}
