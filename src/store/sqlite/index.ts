/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is
 * synchronous, so each Store method runs to completion without interleaving:
 * a check-and-write inside one method is atomic within this process, and
 * `BEGIN IMMEDIATE` transactions keep it atomic across processes on one file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BulkheadError } from '../../errors.js';
import type { Store } from '../store.js';
import { approvalMigrations, sqliteApprovals } from './approvals.js';
import { callMigrations, sqliteCalls } from './calls.js';
import { credentialMigrations, sqliteCredentials } from './credentials.js';
import { sqliteEventStats } from './event-stats.js';
import { eventMigrations, sqliteEvents } from './events.js';
import { type Migration, migrate } from './migrate.js';
import { runMigrations, sqliteRuns } from './runs.js';
import { sqliteTokens, tokenMigrations } from './tokens.js';

export const sqliteMigrations: Migration[] = [
  ...runMigrations,
  ...eventMigrations,
  ...callMigrations,
  ...approvalMigrations,
  ...tokenMigrations,
  ...credentialMigrations,
];

export interface SqliteStore extends Store {
  /** The raw handle, for areas that add their own tables and for tests. */
  readonly db: Database.Database;
}

export function openSqliteStore(path: string): SqliteStore {
  let db: Database.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL: an event is durable across a process crash before the response leaves.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db, sqliteMigrations);
  } catch (error) {
    throw new BulkheadError('store_failed', `cannot open the SQLite store at ${path}`, { cause: error });
  }
  return {
    kind: 'sqlite',
    db,
    runs: sqliteRuns(db),
    events: sqliteEvents(db),
    stats: sqliteEventStats(db),
    calls: sqliteCalls(db),
    approvals: sqliteApprovals(db),
    tokens: sqliteTokens(db),
    credentials: sqliteCredentials(db),
    async close() {
      db.close();
    },
  };
}
