import type Database from 'better-sqlite3';
import type { Approval } from '../../approvals/approval.js';
import { ChainHead, completeEventText } from '../../events/chain.js';
import type { AuditEvent, EventFilter, NewEvent } from '../../events/event.js';
import type {
  AlertKey,
  ApprovalMove,
  BatchItem,
  EventStore,
  Retiring,
  Settled,
  Settling,
  VoteRequest,
} from '../store.js';
import { sqliteVoter } from './approvals.js';
import type { Migration } from './migrate.js';
import { sqliteOrphanSettler, sqliteSettler } from './tokens.js';

export const eventMigrations: Migration[] = [
  {
    id: 'events/1',
    sql: `
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        run_id TEXT,
        tool TEXT,
        decision TEXT,
        code TEXT,
        actor TEXT,
        data TEXT NOT NULL
      );
      CREATE INDEX events_run ON events (run_id, id);
      CREATE INDEX events_tool ON events (tool, id);
      CREATE INDEX events_at ON events (at);
      CREATE INDEX events_code ON events (code, id);`,
  },
  {
    // The hash chain (src/events/chain.ts). Older rows keep NULLs and verify as unchained.
    id: 'events/2',
    sql: `
      ALTER TABLE events ADD COLUMN writer TEXT;
      ALTER TABLE events ADD COLUMN seq INTEGER;
      ALTER TABLE events ADD COLUMN prev_hash TEXT;
      ALTER TABLE events ADD COLUMN hash TEXT;
      CREATE UNIQUE INDEX events_chain ON events (writer, seq);`,
  },
  {
    // Each budget threshold a run alerted, the gate of its one `budget.alert` (appendAlerting),
    // filled from the alerts already in the log so an upgrade alerts nothing twice.
    id: 'events/3',
    sql: `
      CREATE TABLE budget_alerts (
        run_id TEXT NOT NULL,
        dimension TEXT NOT NULL,
        fraction REAL NOT NULL,
        PRIMARY KEY (run_id, dimension, fraction)
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO budget_alerts (run_id, dimension, fraction)
        SELECT run_id, code, json_extract(data, '$.fraction') FROM events
        WHERE kind = 'budget.alert' AND run_id IS NOT NULL AND code IS NOT NULL
          AND json_extract(data, '$.fraction') IS NOT NULL;`,
  },
];

interface EventRow {
  id: number;
  at: number;
  kind: AuditEvent['kind'];
  run_id: string | null;
  tool: string | null;
  decision: AuditEvent['decision'];
  code: string | null;
  actor: string | null;
  data: string;
  writer: string | null;
  seq: number | null;
  prev_hash: string | null;
  hash: string | null;
}

function toEvent(row: EventRow): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    kind: row.kind,
    runId: row.run_id,
    tool: row.tool,
    decision: row.decision,
    code: row.code,
    actor: row.actor,
    data: JSON.parse(row.data) as Record<string, unknown>,
    ...(row.writer !== null && row.seq !== null && row.prev_hash !== null && row.hash !== null
      ? { chain: { writer: row.writer, seq: row.seq, prev: row.prev_hash, hash: row.hash } }
      : {}),
  };
}

/** Builds a WHERE clause from a filter; values are always bound, never spliced. */
export function eventWhere(filter: EventFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    parts.push(sql);
    params.push(value);
  };
  if (filter.runId !== undefined) add('run_id = ?', filter.runId);
  if (filter.tool !== undefined) add('tool = ?', filter.tool);
  if (filter.kind !== undefined) add('kind = ?', filter.kind);
  if (filter.decision !== undefined) add('decision = ?', filter.decision);
  if (filter.code !== undefined) add('code = ?', filter.code);
  if (filter.since !== undefined) add('at >= ?', filter.since);
  if (filter.until !== undefined) add('at <= ?', filter.until);
  if (filter.beforeId !== undefined) add('id < ?', filter.beforeId);
  if (filter.afterId !== undefined) add('id > ?', filter.afterId);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export function sqliteEvents(db: Database.Database, writer: string): EventStore {
  const insert = db.prepare(
    `INSERT INTO events (at, kind, run_id, tool, decision, code, actor, data, writer, seq, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const closeIntent = db.prepare('DELETE FROM intents WHERE id = ?');
  // The ownership test of the lease table, as `orphanedExecuting` reads it, inside the write.
  const markUnknown = db.prepare(
    `UPDATE approvals SET state = 'outcome_unknown'
     WHERE id = ? AND state = 'executing' AND (owner IS NULL OR owner NOT IN (SELECT id FROM replicas))`,
  );
  // better-sqlite3 is synchronous: link, insert and advance run without interleaving,
  // so this handle's chain has no gaps and no forks without a lock of its own.
  const head = new ChainHead(writer);
  const write = (event: NewEvent): AuditEvent => {
    const { fields: full, dataText } = completeEventText(event);
    const link = head.link(full);
    // The new row's id from `run`, not `RETURNING id`: RETURNING made every insert about 14 µs
    // dearer (SQLite collects the returned rows apart before handing the first one back).
    const { lastInsertRowid } = insert.run(
      full.at,
      full.kind,
      full.runId,
      full.tool,
      full.decision,
      full.code,
      full.actor,
      dataText,
      link.writer,
      link.seq,
      link.prev,
      link.hash,
    );
    head.advance(link);
    return { id: Number(lastInsertRowid), ...full, chain: link };
  };
  // A transaction that rolls back takes its links with it: the head goes back too, so no gap.
  const atomically = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.transaction(fn);
    return (...args: A): R => {
      const mark = head.mark();
      try {
        return tx.immediate(...args);
      } catch (error) {
        head.reset(mark);
        throw error;
      }
    };
  };
  const closing = atomically((event: NewEvent, intentId: string): AuditEvent | undefined => {
    if (closeIntent.run(intentId).changes === 0) return undefined;
    return write(event);
  });
  const retireLease = db.prepare('DELETE FROM replicas WHERE id = ? AND (? IS NULL OR heartbeat_at < ?)');
  const retires = (lease: Retiring) =>
    retireLease.run(lease.id, lease.staleBefore ?? null, lease.staleBefore ?? null).changes > 0;
  const retiring = atomically((event: NewEvent, lease: Retiring): AuditEvent | undefined =>
    retires(lease) ? write(event) : undefined,
  );
  const moves = (m: ApprovalMove) =>
    db
      .prepare(
        `UPDATE approvals SET state = ?, decided_at = COALESCE(decided_at, ?)
         WHERE id = ? AND state IN (${m.from.map(() => '?').join(',')})`,
      )
      .run(m.to, m.at, m.id, ...m.from).changes > 0;
  const moving = atomically((event: NewEvent, m: ApprovalMove): AuditEvent | undefined =>
    moves(m) ? write(event) : undefined,
  );
  const settles = sqliteOrphanSettler(db);
  const settling = atomically((event: NewEvent, s: Settling): AuditEvent | undefined =>
    settles(s) ? write(event) : undefined,
  );
  const settlesOwn = sqliteSettler(db);
  const settled = atomically((event: NewEvent, s: Settled) => {
    const usage = settlesOwn(s.id, s.charge);
    return usage ? { event: write(event), usage } : undefined;
  });
  const alertOnce = db.prepare(
    'INSERT OR IGNORE INTO budget_alerts (run_id, dimension, fraction) VALUES (?, ?, ?)',
  );
  const alerts = (key: AlertKey) => alertOnce.run(key.runId, key.dimension, key.fraction).changes > 0;
  const alerting = atomically((event: NewEvent, key: AlertKey): AuditEvent | undefined =>
    alerts(key) ? write(event) : undefined,
  );
  const voter = sqliteVoter(db);
  const voting = atomically((request: VoteRequest, eventFor: (approval: Approval) => NewEvent) => {
    const outcome = voter(request.id, request.vote, request.edited, request.now);
    return outcome.ok ? { outcome, event: write(eventFor(outcome.approval)) } : { outcome };
  });
  const marking = atomically((event: NewEvent, approvalId: string): AuditEvent | undefined => {
    if (markUnknown.run(approvalId).changes === 0) return undefined;
    return write(event);
  });
  // Group commit: a commit, not the insert, is most of an append's cost. The records of
  // concurrent calls (each closing its intent) and other events written in the same turn.
  const batch = atomically((items: readonly BatchItem[]) =>
    items.map((item) =>
      (item.closes !== undefined && closeIntent.run(item.closes).changes === 0) ||
      (item.marksUnknown !== undefined && markUnknown.run(item.marksUnknown).changes === 0) ||
      (item.retires !== undefined && !retires(item.retires)) ||
      (item.moves !== undefined && !moves(item.moves)) ||
      (item.settles !== undefined && !settles(item.settles)) ||
      (item.alerts !== undefined && !alerts(item.alerts))
        ? undefined
        : write(item.event),
    ),
  );
  return {
    async append(event: NewEvent) {
      return write(event);
    },
    async appendClosing(event, intentId) {
      return closing(event, intentId);
    },
    async appendMarking(event, approvalId) {
      return marking(event, approvalId);
    },
    async appendRetiring(event, lease) {
      return retiring(event, lease);
    },
    async appendMoving(event, move) {
      return moving(event, move);
    },
    async appendSettling(event, reservation) {
      return settling(event, reservation);
    },
    async appendSettled(event, s) {
      return settled(event, s);
    },
    async appendAlerting(event, key) {
      return alerting(event, key);
    },
    async appendVote(request, eventFor) {
      return voting(request, eventFor);
    },
    async appendBatch(items) {
      return batch(items);
    },
    async list(filter = {}) {
      const { sql, params } = eventWhere(filter);
      const order = filter.afterId !== undefined ? 'ASC' : 'DESC';
      const rows = db
        .prepare(`SELECT * FROM events ${sql} ORDER BY id ${order} LIMIT ?`)
        .all(...params, Math.min(filter.limit ?? 100, 1000)) as EventRow[];
      return rows.map(toEvent);
    },
    async count(filter = {}) {
      const { sql, params } = eventWhere(filter);
      return (db.prepare(`SELECT count(*) AS n FROM events ${sql}`).get(...params) as { n: number }).n;
    },
    async writers() {
      return (
        db.prepare('SELECT DISTINCT writer FROM events WHERE writer IS NOT NULL').all() as {
          writer: string;
        }[]
      ).map((r) => r.writer);
    },
    async chain(w, afterSeq, limit) {
      const rows = db
        .prepare('SELECT * FROM events WHERE writer = ? AND seq > ? ORDER BY seq ASC LIMIT ?')
        .all(w, afterSeq, limit) as EventRow[];
      return rows.map(toEvent);
    },
    async heads() {
      return db
        .prepare(
          `SELECT writer, seq, hash FROM events e
           WHERE writer IS NOT NULL AND seq = (SELECT max(seq) FROM events WHERE writer = e.writer)`,
        )
        .all() as { writer: string; seq: number; hash: string }[];
    },
    async unchained() {
      return (db.prepare('SELECT count(*) AS n FROM events WHERE writer IS NULL').get() as { n: number }).n;
    },
  };
}
