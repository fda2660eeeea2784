/**
 * WAL checkpoints off the event loop. SQLite in WAL mode copies the log back
 * into the database file every 1,000 pages, inside whichever commit crosses
 * the mark, and that copy ends with fsyncs: on this machine 0.5–25 ms each,
 * three per checkpoint, every ~60 tools/call (each call commits ~17 pages).
 * better-sqlite3 is synchronous, so the gateway's whole event loop stood
 * still for that long, and every call in flight waited (the c=1 p99 and the
 * throughput at c=8/32, bench/README.md, gateway).
 *
 * The gateway's connection stops checkpointing itself; a worker thread with
 * its own connection to the same file runs `PRAGMA wal_checkpoint(PASSIVE)`
 * every `intervalMs`, which copies what is committed without taking the write
 * lock, so the main connection keeps committing meanwhile. Nothing about
 * durability changes: a commit is in the WAL (synchronous = NORMAL) before
 * its write resolves, as before; checkpoints only move committed pages.
 *
 * Under steady writes a passive checkpoint rarely ends with the log wholly
 * copied (a commit lands while it runs), so the log could not restart and
 * would grow. Past `maxFrames` the worker runs a RESTART checkpoint, which
 * waits for the writer, holds new writes back (they see SQLITE_BUSY and are
 * retried asynchronously, busy.ts) while it finishes, and lets the log start
 * over: one short pause per `maxFrames` pages instead of a stall per 1,000.
 *
 * If the worker cannot start or dies, the main connection checkpoints itself
 * again (SQLite's default), so the log never grows unbounded.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

export interface CheckpointerOptions {
  /** How often the worker checkpoints (ms). */
  intervalMs?: number;
  /** WAL frames (pages) past which the worker restarts the log, waiting for the writer. */
  maxFrames?: number;
  /** How long a RESTART checkpoint waits for the writer before trying again later (ms). */
  restartWaitMs?: number;
}

export interface Checkpointer {
  /** Stops the worker (its last checkpoint done); the main connection checkpoints on close. */
  stop(): Promise<void>;
}

/** SQLite's own default, restored when the worker is gone. */
const AUTOCHECKPOINT_PAGES = 1000;

/**
 * The worker, as CommonJS for `eval`: it needs no loader, and the driver is required from the
 * path the main thread resolved (an eval'd worker would resolve from the working directory).
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 0');
let timer;
const tick = () => {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    if (row && row.log > workerData.maxFrames) {
      // The writer waits (busy) only for this one; a passive checkpoint never holds it back.
      db.pragma('busy_timeout = ' + workerData.restartWaitMs);
      try { db.pragma('wal_checkpoint(RESTART)'); } finally { db.pragma('busy_timeout = 0'); }
    }
  } catch {
    // Busy (another checkpointer, a lock): the next tick tries again.
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
timer = setTimeout(tick, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearTimeout(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.close();
});
`;

/** Moves `db`'s checkpoints (a file at `path` in WAL mode) to a worker thread. */
export function startCheckpointer(
  db: Database.Database,
  path: string,
  options: CheckpointerOptions = {},
): Checkpointer {
  const fallBack = () => {
    if (db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  };
  let worker: Worker;
  try {
    worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        intervalMs: options.intervalMs ?? 500,
        maxFrames: options.maxFrames ?? 10_000,
        restartWaitMs: options.restartWaitMs ?? 1000,
      },
    });
  } catch {
    return { stop: async () => undefined };
  }
  db.pragma('wal_autocheckpoint = 0');
  // Never keeps the process alive by itself; the store's close stops it.
  worker.unref();
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      exited = true;
      fallBack();
      resolve();
    });
  });
  worker.on('error', () => {
    // Its exit follows; the main connection checkpoints again from then on.
  });
  return {
    async stop() {
      if (!exited) worker.postMessage('stop');
      const timeout = setTimeout(() => void worker.terminate(), 5_000);
      await gone;
      clearTimeout(timeout);
    },
  };
}
