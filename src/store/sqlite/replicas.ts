/** Replica leases and their open work (intents) on the SQLite store: see ReplicaStore, IntentStore. */
import type Database from 'better-sqlite3';
import type { Intent, IntentStore, ReplicaRow, ReplicaStore } from '../store.js';
import type { GroupCommit } from './group-commit.js';
import type { Migration } from './migrate.js';

export const replicaMigrations: Migration[] = [
  {
    id: 'replicas/1',
    sql: `
      CREATE TABLE replicas (
        id TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
      );
      CREATE TABLE intents (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        run_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        arguments TEXT NOT NULL,
        approval_id TEXT,
        started_at INTEGER NOT NULL
      );
      CREATE INDEX intents_owner ON intents (owner);
      CREATE INDEX intents_run ON intents (run_id, tool, args_hash);`,
  },
  {
    // Every call inserts one intent before forwarding and deletes it with its event, so each of
    // the table's b-trees is written to the log twice per call. The table holds only open
    // intents (the calls in flight, and orphans until reconciled), so its two indexes saved
    // nothing a scan of a few rows costs; keyed by id alone (WITHOUT ROWID), an intent is one
    // page written in and one out instead of four each.
    id: 'replicas/2',
    sql: `
      CREATE TABLE intents_lean (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        run_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        arguments TEXT NOT NULL,
        approval_id TEXT,
        started_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO intents_lean SELECT id, owner, run_id, tool, args_hash, arguments, approval_id, started_at FROM intents;
      DROP TABLE intents;
      ALTER TABLE intents_lean RENAME TO intents;`,
  },
];

interface ReplicaDbRow {
  id: string;
  node: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

interface IntentRow {
  id: string;
  owner: string;
  run_id: string;
  tool: string;
  args_hash: string;
  arguments: string;
  approval_id: string | null;
  started_at: number;
}

export function toReplica(row: ReplicaDbRow): ReplicaRow {
  return {
    id: row.id,
    node: row.node,
    pid: Number(row.pid),
    startedAt: Number(row.started_at),
    heartbeatAt: Number(row.heartbeat_at),
  };
}

function toIntent(row: IntentRow): Intent {
  return {
    id: row.id,
    owner: row.owner,
    runId: row.run_id,
    tool: row.tool,
    argsHash: row.args_hash,
    arguments: JSON.parse(row.arguments) as unknown,
    approvalId: row.approval_id,
    startedAt: Number(row.started_at),
  };
}

export function sqliteReplicas(db: Database.Database): ReplicaStore {
  return {
    async register(r) {
      const now = Date.now();
      db.prepare(
        `INSERT INTO replicas (id, node, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      ).run(r.id, r.node, r.pid, now, now);
    },
    async heartbeat(id) {
      return db.prepare('UPDATE replicas SET heartbeat_at = ? WHERE id = ?').run(Date.now(), id).changes > 0;
    },
    async list() {
      const rows = db.prepare('SELECT * FROM replicas ORDER BY started_at').all() as ReplicaDbRow[];
      return { now: Date.now(), replicas: rows.map(toReplica) };
    },
    async retire(id, staleBefore) {
      const result =
        staleBefore === undefined
          ? db.prepare('DELETE FROM replicas WHERE id = ?').run(id)
          : db.prepare('DELETE FROM replicas WHERE id = ? AND heartbeat_at < ?').run(id, staleBefore);
      return result.changes > 0;
    },
  };
}

export function sqliteIntents(db: Database.Database, group: GroupCommit): IntentStore {
  const insert = db.prepare(
    `INSERT INTO intents (id, owner, run_id, tool, args_hash, arguments, approval_id, started_at)
     SELECT ?, ?, ?, ?, ?, ?, ?, ?
     WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = ? AND state IN ('killed', 'expired'))`,
  );
  return {
    async open(i) {
      const args = JSON.stringify(i.arguments ?? null);
      // With the group's other writes (a concurrent call's reservation or intent): one commit.
      const row = [i.id, i.owner, i.runId, i.tool, i.argsHash, args, i.approvalId, i.startedAt, i.runId];
      return group.run(() => insert.run(...row).changes === 1);
    },
    async orphans(limit = 1_000) {
      // One statement: an owner that registers after this read began has no intents in it yet.
      const rows = db
        .prepare(
          'SELECT * FROM intents WHERE owner NOT IN (SELECT id FROM replicas) ORDER BY started_at LIMIT ?',
        )
        .all(limit) as IntentRow[];
      return rows.map(toIntent);
    },
    async list(filter = {}) {
      const rows = db
        .prepare(
          `SELECT * FROM intents WHERE (? IS NULL OR run_id = ?) AND (? IS NULL OR owner = ?)
           ORDER BY started_at LIMIT 1000`,
        )
        .all(
          filter.runId ?? null,
          filter.runId ?? null,
          filter.owner ?? null,
          filter.owner ?? null,
        ) as IntentRow[];
      return rows.map(toIntent);
    },
  };
}
