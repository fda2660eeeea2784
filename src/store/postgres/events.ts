import type { Pool } from 'pg';
import type { AuditEvent, EventFilter, NewEvent } from '../../events/event.js';
import type { EventStore } from '../store.js';
import type { PgMigration } from './migrate.js';

export const pgEventMigrations: PgMigration[] = [
  {
    id: 'events/1',
    sql: `
      CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        run_id TEXT,
        tool TEXT,
        decision TEXT,
        code TEXT,
        actor TEXT,
        data JSONB NOT NULL
      );
      CREATE INDEX events_run ON events (run_id, id);
      CREATE INDEX events_tool ON events (tool, id);
      CREATE INDEX events_at ON events (at);
      CREATE INDEX events_code ON events (code, id);`,
  },
];

interface EventRow {
  id: string;
  at: string;
  kind: AuditEvent['kind'];
  run_id: string | null;
  tool: string | null;
  decision: AuditEvent['decision'];
  code: string | null;
  actor: string | null;
  data: Record<string, unknown>;
}

function toEvent(row: EventRow): AuditEvent {
  return {
    id: Number(row.id),
    at: Number(row.at),
    kind: row.kind,
    runId: row.run_id,
    tool: row.tool,
    decision: row.decision,
    code: row.code,
    actor: row.actor,
    data: row.data,
  };
}

/** The same filter as the SQLite store, with numbered placeholders; values are always bound. */
function where(filter: EventFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (column: string, op: string, value: unknown) => {
    params.push(value);
    parts.push(`${column} ${op} $${params.length}`);
  };
  if (filter.runId !== undefined) add('run_id', '=', filter.runId);
  if (filter.tool !== undefined) add('tool', '=', filter.tool);
  if (filter.kind !== undefined) add('kind', '=', filter.kind);
  if (filter.decision !== undefined) add('decision', '=', filter.decision);
  if (filter.code !== undefined) add('code', '=', filter.code);
  if (filter.since !== undefined) add('at', '>=', filter.since);
  if (filter.until !== undefined) add('at', '<=', filter.until);
  if (filter.beforeId !== undefined) add('id', '<', filter.beforeId);
  if (filter.afterId !== undefined) add('id', '>', filter.afterId);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export function pgEvents(pool: Pool): EventStore {
  return {
    async append(event: NewEvent) {
      const { rows } = await pool.query<EventRow>(
        `INSERT INTO events (at, kind, run_id, tool, decision, code, actor, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          event.at ?? Date.now(),
          event.kind,
          event.runId ?? null,
          event.tool ?? null,
          event.decision ?? null,
          event.code ?? null,
          event.actor ?? null,
          JSON.stringify(event.data),
        ],
      );
      return toEvent(rows[0] as EventRow);
    },
    async list(filter = {}) {
      const { sql, params } = where(filter);
      const order = filter.afterId !== undefined ? 'ASC' : 'DESC';
      params.push(Math.min(filter.limit ?? 100, 1000));
      const { rows } = await pool.query<EventRow>(
        `SELECT * FROM events ${sql} ORDER BY id ${order} LIMIT $${params.length}`,
        params,
      );
      return rows.map(toEvent);
    },
    async count(filter = {}) {
      const { sql, params } = where(filter);
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM events ${sql}`, params);
      return Number(rows[0]?.n ?? 0);
    },
  };
}
