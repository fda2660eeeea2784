import type { Pool, PoolClient } from 'pg';
import { ChainHead, completeEvent } from '../../events/chain.js';
import type { AuditEvent, ChainLink, EventFilter, NewEvent } from '../../events/event.js';
import type { ApprovalMove, EventStore, Retiring, Settling } from '../store.js';
import { pgVoteIn } from './approvals.js';
import type { PgMigration } from './migrate.js';
import { pgSettleOrphan } from './tokens.js';

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
  {
    // The hash chain (src/events/chain.ts). Older rows keep NULLs and verify as unchained.
    id: 'events/2',
    sql: `
      ALTER TABLE events ADD COLUMN writer TEXT, ADD COLUMN seq BIGINT,
        ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;
      CREATE UNIQUE INDEX events_chain ON events (writer, seq);`,
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
  writer: string | null;
  seq: string | null;
  prev_hash: string | null;
  hash: string | null;
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
    ...(row.writer !== null && row.seq !== null && row.prev_hash !== null && row.hash !== null
      ? { chain: { writer: row.writer, seq: Number(row.seq), prev: row.prev_hash, hash: row.hash } }
      : {}),
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

/** What an event is written with, in one statement: it is written only if that write was made. */
type Condition =
  | { closes: string }
  | { marksUnknown: string }
  | { retires: Retiring }
  | { moves: ApprovalMove }
  | { settles: Settling };

/**
 * The CTEs that make a condition's write and define `gate`, which yields a row only when the
 * write was made (this call closed the intent, marked the orphaned execution by the same lease
 * test as `orphanedExecuting`, ...). Parameters from $13, after the event's twelve.
 */
function gateOf(c: Condition): { ctes: string; params: unknown[] } {
  if ('settles' in c) return { ctes: pgSettleOrphan('$13', '$14'), params: [c.settles.id, c.settles.before] };
  if ('closes' in c)
    return { ctes: 'gate AS (DELETE FROM intents WHERE id = $13 RETURNING id)', params: [c.closes] };
  if ('moves' in c)
    return {
      ctes: `gate AS (UPDATE approvals SET state = $14, decided_at = COALESCE(decided_at, $15)
                      WHERE id = $13 AND state = ANY($16::text[]) RETURNING id)`,
      params: [c.moves.id, c.moves.to, c.moves.at, [...c.moves.from]],
    };
  if ('retires' in c)
    return {
      ctes: 'gate AS (DELETE FROM replicas WHERE id = $13 AND ($14::bigint IS NULL OR heartbeat_at < $14) RETURNING id)',
      params: [c.retires.id, c.retires.staleBefore ?? null],
    };
  return {
    ctes: `gate AS (UPDATE approvals SET state = 'outcome_unknown' WHERE id = $13 AND state = 'executing'
                    AND (owner IS NULL OR owner NOT IN (SELECT id FROM replicas)) RETURNING id)`,
    params: [c.marksUnknown],
  };
}

export function pgEvents(pool: Pool, writer: string): EventStore {
  const head = new ChainHead(writer);
  // One writer's appends are chained in order: each waits for the one before it, so links
  // never fork and a failed insert leaves no gap. Replicas do not wait on each other.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  const insert = async (
    event: NewEvent,
    condition: Condition | null,
    // A transaction's client: the head advances only once the caller committed (`inTransaction`).
    inTransaction?: { client: PoolClient; links: ChainLink[] },
  ): Promise<AuditEvent | undefined> => {
    const q = inTransaction?.client ?? pool;
    const full = completeEvent(event);
    const link = head.link(full);
    const values = [
      full.at,
      full.kind,
      full.runId,
      full.tool,
      full.decision,
      full.code,
      full.actor,
      JSON.stringify(full.data),
      link.writer,
      link.seq,
      link.prev,
      link.hash,
    ];
    const columns = 'at, kind, run_id, tool, decision, code, actor, data, writer, seq, prev_hash, hash';
    const gate = condition === null ? null : gateOf(condition);
    const { rows } =
      gate === null
        ? await q.query<EventRow>(
            `INSERT INTO events (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
            values,
          )
        : await q.query<EventRow>(
            `WITH ${gate.ctes}
             INSERT INTO events (${columns})
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM gate RETURNING *`,
            [...values, ...gate.params],
          );
    const row = rows[0];
    if (!row) return undefined;
    if (inTransaction) inTransaction.links.push(link);
    else head.advance(link);
    return toEvent(row);
  };
  return {
    append: (event) => serial(async () => (await insert(event, null)) as AuditEvent),
    appendClosing: (event, intentId) => serial(() => insert(event, { closes: intentId })),
    appendMarking: (event, approvalId) => serial(() => insert(event, { marksUnknown: approvalId })),
    appendRetiring: (event, lease) => serial(() => insert(event, { retires: lease })),
    appendMoving: (event, move) => serial(() => insert(event, { moves: move })),
    appendSettling: (event, reservation) => serial(() => insert(event, { settles: reservation })),
    appendVote: (request, eventFor) =>
      serial(async () => {
        const client = await pool.connect();
        const links: ChainLink[] = [];
        try {
          await client.query('BEGIN');
          const outcome = await pgVoteIn(client, request.id, request.vote, request.edited, request.now);
          if (!outcome.ok) {
            await client.query('ROLLBACK');
            return { outcome };
          }
          const event = await insert(eventFor(outcome.approval), null, { client, links });
          await client.query('COMMIT');
          // Committed: only now is the link the chain's head (a rollback leaves no gap).
          for (const link of links) head.advance(link);
          return event ? { outcome, event } : { outcome };
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      }),
    async writers() {
      const { rows } = await pool.query<{ writer: string }>(
        'SELECT DISTINCT writer FROM events WHERE writer IS NOT NULL',
      );
      return rows.map((r) => r.writer);
    },
    async chain(w, afterSeq, limit) {
      const { rows } = await pool.query<EventRow>(
        'SELECT * FROM events WHERE writer = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3',
        [w, afterSeq, limit],
      );
      return rows.map(toEvent);
    },
    async heads() {
      const { rows } = await pool.query<{ writer: string; seq: string; hash: string }>(
        `SELECT DISTINCT ON (writer) writer, seq, hash FROM events
         WHERE writer IS NOT NULL ORDER BY writer, seq DESC`,
      );
      return rows.map((r) => ({ writer: r.writer, seq: Number(r.seq), hash: r.hash }));
    },
    async unchained() {
      const { rows } = await pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM events WHERE writer IS NULL',
      );
      return Number(rows[0]?.n ?? 0);
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
