/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is
 * synchronous, so each Store method runs to completion without interleaving:
 * a check-and-write inside one method is atomic within this process, and
 * `BEGIN IMMEDIATE` transactions keep it atomic across processes on one file.
 * A lock held by another process is waited for asynchronously (busy.ts), never
 * inside the driver, so the event loop keeps serving.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BulkheadError } from '../../errors.js';
import { newReplicaId } from '../replica-id.js';
import { LocalSignals } from '../signals.js';
import type { Store, StoreHealth } from '../store.js';
import { approvalMigrations, sqliteApprovals } from './approvals.js';
import { type BusyPolicy, type BusyState, DEFAULT_BUSY, isBusy, retrying } from './busy.js';
import { callMigrations, sqliteCalls } from './calls.js';
import { type Checkpointer, type CheckpointerOptions, startCheckpointer } from './checkpointer.js';
import { credentialMigrations, sqliteCredentials } from './credentials.js';
import { sqliteEventStats } from './event-stats.js';
import { eventMigrations, sqliteEvents } from './events.js';
import { GroupCommit } from './group-commit.js';
import { type Migration, migrate } from './migrate.js';
import { noticeMigrations, sqliteNotices } from './notices.js';
import { replicaMigrations, sqliteIntents, sqliteReplicas } from './replicas.js';
import { RunCache } from './run-cache.js';
import { runMigrations, sqliteRunReader, sqliteRuns } from './runs.js';
import { sessionMigrations, sqliteSessions } from './sessions.js';
import { sqliteTokens, tokenMigrations } from './tokens.js';

export const sqliteMigrations: Migration[] = [
  ...runMigrations,
  ...eventMigrations,
  ...callMigrations,
  ...approvalMigrations,
  ...tokenMigrations,
  ...credentialMigrations,
  ...replicaMigrations,
  ...sessionMigrations,
  ...noticeMigrations,
];

export interface SqliteStore extends Store {
  /** The raw handle, for areas that add their own tables and for tests. */
  readonly db: Database.Database;
}

export interface SqliteOptions {
  busy?: Partial<BusyPolicy>;
  /**
   * WAL checkpoints in a worker thread instead of inside commits (checkpointer.ts): for the
   * gateway, whose event loop every call shares. Short-lived CLI commands leave it off.
   */
  backgroundCheckpoints?: boolean | CheckpointerOptions;
}

export function openSqliteStore(path: string, options: SqliteOptions = {}): SqliteStore {
  let db: Database.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    // Opening may meet another process's lock too: wait for it here, once, before serving.
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL: an event is durable across a process crash before the response leaves.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, sqliteMigrations);
    // From now on a lock is never waited for inside the driver (see busy.ts).
    db.pragma('busy_timeout = 0');
  } catch (error) {
    // Said plainly: the CLI prints the message, not the cause.
    const why = isBusy(error)
      ? ': another process held its write lock for 5 s (stop it, or start again once it is done)'
      : error instanceof Error
        ? `: ${error.message}`
        : '';
    throw new BulkheadError('store_failed', `cannot open the SQLite store at ${path}${why}`, {
      cause: error,
    });
  }
  const busy: BusyPolicy = { ...DEFAULT_BUSY, ...options.busy };
  const state: BusyState = { since: null, lastError: null };
  const guard = <T extends object>(area: T): T => retrying(area, busy, state);
  const replica = newReplicaId();
  const probe = db.prepare('SELECT 1');
  const group = new GroupCommit(db);
  // One cache of runs for the runs area and the LLM reservation that confirms a remembered run.
  const runCache = new RunCache(db);
  const readRun = sqliteRunReader(db);
  const checkpoints: Checkpointer | undefined =
    options.backgroundCheckpoints && path !== ':memory:'
      ? startCheckpointer(
          db,
          path,
          options.backgroundCheckpoints === true ? {} : options.backgroundCheckpoints,
        )
      : undefined;
  return {
    kind: 'sqlite',
    db,
    replica,
    runs: guard(sqliteRuns(db, runCache)),
    events: guard(sqliteEvents(db, replica)),
    stats: guard(sqliteEventStats(db)),
    calls: guard(sqliteCalls(db, group)),
    approvals: guard(sqliteApprovals(db, replica)),
    tokens: guard(sqliteTokens(db, replica, (id, run) => runCache.get(id, readRun) === run)),
    replicas: guard(sqliteReplicas(db)),
    intents: guard(sqliteIntents(db, group)),
    sessions: guard(sqliteSessions(db)),
    notices: guard(sqliteNotices(db)),
    credentials: guard(sqliteCredentials(db)),
    signals: new LocalSignals(),
    rememberedRun: (id) => runCache.peek(id),
    async health(): Promise<StoreHealth> {
      const started = performance.now();
      const ms = () => Math.round((performance.now() - started) * 1000) / 1000;
      try {
        probe.get();
        // Can a write start now? BEGIN IMMEDIATE answers at once with busy_timeout 0.
        db.exec('BEGIN IMMEDIATE');
        db.exec('ROLLBACK');
        return { ok: true, ms: ms() };
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        const locked = isBusy(error);
        return {
          ok: false,
          ms: ms(),
          code: locked ? 'store_locked' : 'store_error',
          message: locked
            ? `another process holds the SQLite write lock${state.since ? ` (since ${new Date(state.since).toISOString()})` : ''}`
            : error instanceof Error
              ? error.message
              : String(error),
        };
      }
    },
    async close() {
      await checkpoints?.stop();
      db.close();
    },
  };
}
