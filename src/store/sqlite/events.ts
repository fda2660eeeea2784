import type Database from 'better-sqlite3';
import type { AuditEvent, EventFilter, NewEvent } from '../../events/event.js';
import type { EventStore } from '../store.js';
import type { Migration } from './migrate.js';

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

export function sqliteEvents(db: Database.Database): EventStore {
  const insert = db.prepare(
    `INSERT INTO events (at, kind, run_id, tool, decision, code, actor, data)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  );
  const insertOne = (event: NewEvent): AuditEvent => {
    const at = event.at ?? Date.now();
    const full = {
      at,
      kind: event.kind,
      runId: event.runId ?? null,
      tool: event.tool ?? null,
      decision: event.decision ?? null,
      code: event.code ?? null,
      actor: event.actor ?? null,
      data: event.data,
    };
    const { id } = insert.get(
      at,
      full.kind,
      full.runId,
      full.tool,
      full.decision,
      full.code,
      full.actor,
      JSON.stringify(full.data),
    ) as { id: number };
    return { id, ...full };
  };
  // One commit for many events: a commit, not the insert, is most of an append's cost.
  const insertMany = db.transaction((events: NewEvent[]) => events.map(insertOne));
  return {
    async append(event: NewEvent) {
      return insertOne(event);
    },
    async appendMany(events: NewEvent[]) {
      return insertMany.immediate(events);
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
  };
}
