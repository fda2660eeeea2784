/**
 * The inspection pool's worker threads and the jobs in flight on them, split
 * from pool.ts so that what a job is (its message, its answer, its slab's
 * fate) is apart from what the jobs do (inspect, cut, parse).
 *
 * A job goes to the live worker with the fewest jobs; a slot whose worker is
 * missing or dead gets a fresh one. A worker that dies (crash, out of memory,
 * terminated) fails every job it held: each is told `done(false)` first, so
 * a slab it held is dropped, never lent again, then refused; never answered
 * unscrubbed.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BulkheadError } from '../../errors.js';
import { precutKey } from '../precut.js';
import type { ThreadPriority } from './priority.js';
import type { FromWorker, ToWorker } from './protocol.js';

/** A worker's answer to a job. */
export type Answer = Exclude<FromWorker, { type: 'failed' } | { type: 'started' }>;

interface Pending {
  /** Called with the worker's answer (not `failed`). */
  settle: (message: Answer) => void;
  reject: (error: Error) => void;
  /** Called once the worker is done with the job: `answered` false when it died holding it. */
  done?: (answered: boolean) => void;
}

/** One job as posted (`LiveWorkers.post`). */
export interface Job<T> {
  message: ToWorker;
  transfer?: ArrayBuffer[];
  done?: (answered: boolean) => void;
  /** Resolves with the worker's answer; false when it is not the answer this job expects. */
  settle: (message: Answer, resolve: (value: T) => void) => boolean;
}

export interface Live {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Families this worker was sent. */
  bases: Set<number>;
  dead: boolean;
  /** Its thread and OS priority, once it said (priority.ts). */
  priority: ThreadPriority | undefined;
}

/** What the workers count into the pool's `counts`: jobs answered, workers started. */
export interface WorkerCounts {
  jobs: number;
  started: number;
}

export function failure(message: string): BulkheadError {
  return new BulkheadError('inspection_failed', message);
}

/**
 * Starts a worker on the built JavaScript beside this file, or, running from the sources (tests,
 * `tsx`), on the TypeScript through tsx's loader, registered inside the worker.
 */
function startThread(): Worker {
  const js = new URL('./thread.js', import.meta.url);
  // The key that lets the worker's cut results be told from forged ones (precut.ts).
  const workerData = { precutKey: precutKey() };
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL('./thread.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

export class LiveWorkers {
  private readonly slots: (Live | undefined)[];
  private nextJob = 1;

  constructor(
    size: number,
    private readonly counts: WorkerCounts,
  ) {
    this.slots = new Array<Live | undefined>(size).fill(undefined);
  }

  post<T>(live: Live, make: (job: number) => Job<T>): Promise<T> {
    const job = this.nextJob++;
    const { message, transfer, settle, done } = make(job);
    return new Promise<T>((resolve, reject) => {
      live.pending.set(job, {
        settle: (m) => {
          if (!settle(m, resolve)) reject(failure('the inspection worker answered out of turn'));
        },
        reject,
        ...(done ? { done } : {}),
      });
      try {
        live.worker.postMessage(message, transfer);
      } catch (error) {
        // Not sent (a value the structured clone cannot take): nothing of it is held, its slab is free.
        live.pending.delete(job);
        done?.(true);
        reject(error);
      }
    });
  }

  /** Posts `message` to every live worker that was sent family `base`. */
  postToFamily(base: number, message: ToWorker): void {
    for (const slot of this.slots) {
      if (!slot || slot.dead || !slot.bases.has(base)) continue;
      slot.worker.postMessage(message);
    }
  }

  /** The live workers' threads and OS priorities, as far as they have said (for tests and health). */
  priorities(): ThreadPriority[] {
    return this.slots.flatMap((s) => (s && !s.dead && s.priority ? [s.priority] : []));
  }

  /** Jobs in flight per worker (for tests and metrics). */
  load(): number[] {
    return this.slots.map((s) => (s && !s.dead ? s.pending.size : 0));
  }

  /** Ends every worker as a crash would. */
  async terminate(): Promise<void> {
    await Promise.all(this.slots.map((s) => s?.worker.terminate()));
  }

  /** The live worker with the fewest jobs, started (or restarted) if needed. */
  pick(): Live {
    let best = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot || slot.dead) {
        this.slots[i] = this.start();
        return this.slots[i] as Live;
      }
      if (best < 0 || slot.pending.size < (this.slots[best] as Live).pending.size) best = i;
    }
    return this.slots[best] as Live;
  }

  private start(): Live {
    const worker = startThread();
    this.counts.started++;
    // Idle workers must not keep a stopping gateway alive.
    worker.unref();
    const live: Live = { worker, pending: new Map(), bases: new Set(), dead: false, priority: undefined };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'started') {
        live.priority = message.priority;
        return;
      }
      const pending = live.pending.get(message.job);
      if (!pending) return;
      live.pending.delete(message.job);
      this.counts.jobs++;
      pending.done?.(true);
      if (message.type === 'failed') pending.reject(failure(`inspection failed: ${message.message}`));
      else pending.settle(message);
    });
    const die = (why: string) => {
      if (live.dead) return;
      live.dead = true;
      for (const pending of live.pending.values()) {
        pending.done?.(false);
        pending.reject(failure(why));
      }
      live.pending.clear();
    };
    worker.on('error', (error) => die(`the inspection worker crashed: ${error.message}`));
    worker.on('exit', (code) => die(`the inspection worker exited (code ${code})`));
    return live;
  }
}
