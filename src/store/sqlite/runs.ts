import type Database from 'better-sqlite3';
import {
  type DataRead,
  NOTHING_READ,
  type Run,
  type RunState,
  type ValueFingerprint,
} from '../../runs/run.js';
import type { NewRun, RunStore } from '../store.js';
import type { Migration } from './migrate.js';
import { RunCache } from './run-cache.js';

export const runMigrations: Migration[] = [
  {
    id: 'runs/1',
    sql: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'active',
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at INTEGER,
        end_reason TEXT,
        exit_code INTEGER,
        label TEXT,
        taint_untrusted INTEGER NOT NULL DEFAULT 0,
        taint_sources TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX runs_state ON runs (state, created_at);`,
  },
  {
    // Data classes (issue 13): which private/secret sources a run read, and fingerprints
    // (never values) of what it received from them.
    id: 'runs/data-classes-1',
    sql: `
      ALTER TABLE runs ADD COLUMN data_read TEXT NOT NULL DEFAULT '{}';
      CREATE TABLE run_fingerprints (
        run_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (run_id, fingerprint)
      );`,
  },
  {
    // The launcher holding the run's jail, so a run whose launcher died unreported is killed.
    id: 'runs/launcher-1',
    sql: 'ALTER TABLE runs ADD COLUMN launcher TEXT',
  },
];

interface RunRow {
  id: string;
  profile: string;
  state: RunState;
  token_hash: string;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
  exit_code: number | null;
  label: string | null;
  launcher: string | null;
  taint_untrusted: number;
  taint_sources: string;
  data_read: string;
}

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    profile: row.profile,
    state: row.state,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
    endReason: row.end_reason,
    exitCode: row.exit_code,
    label: row.label,
    launcher: row.launcher,
    taint: { untrusted: row.taint_untrusted === 1, sources: JSON.parse(row.taint_sources) as string[] },
    read: { ...NOTHING_READ, ...(JSON.parse(row.data_read) as Partial<DataRead>) },
  };
}

/** One run read from the file by id (what the run cache reads on a miss). */
export function sqliteRunReader(db: Database.Database): (id: string) => Run | undefined {
  const byId = db.prepare('SELECT * FROM runs WHERE id = ?');
  return (id) => {
    const row = byId.get(id) as RunRow | undefined;
    return row && toRun(row);
  };
}

export function sqliteRuns(db: Database.Database, cache = new RunCache(db)): RunStore {
  const insert = db.prepare(
    `INSERT INTO runs (id, profile, token_hash, created_at, expires_at, label, launcher)
     VALUES (@id, @profile, @tokenHash, @createdAt, @expiresAt, @label, @launcher)`,
  );
  const byId = db.prepare('SELECT * FROM runs WHERE id = ?');
  const byToken = db.prepare('SELECT * FROM runs WHERE token_hash = ?');
  const end = db.prepare(
    `UPDATE runs SET state = ?, end_reason = ?, exit_code = ?, ended_at = ?
     WHERE id = ? AND state = 'active' RETURNING *`,
  );
  const taint = db.prepare('UPDATE runs SET taint_untrusted = 1, taint_sources = ? WHERE id = ? RETURNING *');
  const markRead = db.prepare('UPDATE runs SET data_read = ? WHERE id = ? RETURNING *');
  const addFingerprint = db.prepare(
    'INSERT OR IGNORE INTO run_fingerprints (run_id, fingerprint, source, kind) VALUES (?, ?, ?, ?)',
  );
  const countFingerprints = db.prepare('SELECT COUNT(*) AS n FROM run_fingerprints WHERE run_id = ?');
  const listFingerprints = db.prepare(
    'SELECT fingerprint, source, kind FROM run_fingerprints WHERE run_id = ?',
  );
  const get = (id: string) => {
    const row = byId.get(id) as RunRow | undefined;
    return row && toRun(row);
  };
  return {
    async create(run: NewRun) {
      insert.run({ ...run, label: run.label ?? null, launcher: run.launcher ?? null });
      cache.forget(run.id);
      return get(run.id) as Run;
    },
    async get(id) {
      return cache.get(id, get);
    },
    async byTokenHash(hash) {
      const row = byToken.get(hash) as RunRow | undefined;
      return row && toRun(row);
    },
    async list(filter = {}) {
      const limit = filter.limit ?? 500;
      const rows = filter.state
        ? db
            .prepare('SELECT * FROM runs WHERE state = ? ORDER BY created_at DESC LIMIT ?')
            .all(filter.state, limit)
        : db.prepare('SELECT * FROM runs ORDER BY created_at DESC LIMIT ?').all(limit);
      return (rows as RunRow[]).map(toRun);
    },
    async end(id, state, reason, exitCode = null) {
      const row = end.get(state, reason, exitCode, Date.now(), id) as RunRow | undefined;
      cache.forget(id);
      return row && toRun(row);
    },
    async taint(id, source) {
      cache.forget(id);
      return db.transaction(() => {
        const run = get(id);
        if (!run) return undefined;
        if (run.taint.untrusted && run.taint.sources.includes(source)) return run;
        const sources = run.taint.sources.includes(source)
          ? run.taint.sources
          : [...run.taint.sources, source];
        return toRun(taint.get(JSON.stringify(sources), id) as RunRow);
      })();
    },
    async markRead(id, dataClass, source) {
      cache.forget(id);
      return db.transaction(() => {
        const run = get(id);
        if (!run || run.read[dataClass].includes(source)) return run;
        const read = { ...run.read, [dataClass]: [...run.read[dataClass], source] };
        return toRun(markRead.get(JSON.stringify(read), id) as RunRow);
      })();
    },
    async addFingerprints(id, values, cap) {
      db.transaction(() => {
        let room = cap - (countFingerprints.get(id) as { n: number }).n;
        for (const v of values) {
          if (room <= 0) break;
          room -= addFingerprint.run(id, v.fingerprint, v.source, v.kind).changes;
        }
      })();
    },
    async fingerprints(id) {
      return listFingerprints.all(id) as ValueFingerprint[];
    },
  };
}
