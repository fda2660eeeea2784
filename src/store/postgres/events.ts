import type { Pool, PoolClient } from 'pg';
import type { Approval, VoteOutcome } from '../../approvals/approval.js';
import { type ChainedFields, ChainHead, completeEvent } from '../../events/chain.js';
import type { AuditEvent, ChainLink, EventFilter, NewEvent } from '../../events/event.js';
import type {
  AlertKey,
  ApprovalMove,
  EventStore,
  Retiring,
  Settled,
  Settling,
  VoteRequest,
} from '../store.js';
import { type ApprovalRow, pgPredictedVote, pgVoteIn, toApproval } from './approvals.js';
import type { PgMigration } from './migrate.js';
import { CHANNEL, payload } from './signals.js';
import { pgSettleOrphan, pgSettleOwn, settledAmounts, toUsage } from './tokens.js';

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
  {
    // Each budget threshold a run alerted, the gate of its one `budget.alert` (appendAlerting),
    // filled from the alerts already in the log so an upgrade alerts nothing twice.
    id: 'events/3',
    sql: `
      CREATE TABLE budget_alerts (
        run_id TEXT NOT NULL,
        dimension TEXT NOT NULL,
        fraction DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (run_id, dimension, fraction)
      );
      INSERT INTO budget_alerts (run_id, dimension, fraction)
        SELECT run_id, code, (data->>'fraction')::double precision FROM events
        WHERE kind = 'budget.alert' AND run_id IS NOT NULL AND code IS NOT NULL
          AND jsonb_typeof(data->'fraction') = 'number'
      ON CONFLICT DO NOTHING;`,
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
  | { settles: Settling }
  | { alerts: AlertKey };

/**
 * The CTEs that make a condition's write and define `gate`, which yields a row only when the
 * write was made (this call closed the intent, marked the orphaned execution by the same lease
 * test as `orphanedExecuting`, ...). Parameters from $13, after the event's twelve.
 */
function gateOf(c: Condition): { ctes: string; params: unknown[] } {
  if ('settles' in c) return { ctes: pgSettleOrphan('$13', '$14'), params: [c.settles.id, c.settles.before] };
  if ('alerts' in c)
    return {
      ctes: `gate AS (INSERT INTO budget_alerts (run_id, dimension, fraction) VALUES ($13, $14, $15)
                      ON CONFLICT DO NOTHING RETURNING run_id)`,
      params: [c.alerts.runId, c.alerts.dimension, c.alerts.fraction],
    };
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

const columns = 'at, kind, run_id, tool, decision, code, actor, data, writer, seq, prev_hash, hash';

/** An event's twelve parameters ($1 to $12), in the order of `columns`. */
function eventValues(full: ChainedFields, link: ChainLink): unknown[] {
  return [
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
    const values = eventValues(full, link);
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
  /**
   * A request's settlement at what it cost and its `llm.request` event in one statement (one
   * round trip): the event is inserted only from `gate`, so only if this call settled it.
   */
  const settled = async (event: NewEvent, s: Settled) => {
    const full = completeEvent(event);
    const link = head.link(full);
    const { rows } = await pool.query<
      EventRow & { u_input: string; u_output: string; u_usd: number; u_requests: number }
    >(
      `WITH ${pgSettleOwn('$13', '$14')},
         event AS (INSERT INTO events (${columns})
                   SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM gate RETURNING *)
       SELECT event.*, charged.input AS u_input, charged.output AS u_output, charged.usd AS u_usd,
         charged.requests AS u_requests
       FROM event, charged`,
      [...eventValues(full, link), s.id, ...settledAmounts(s.charge)],
    );
    const row = rows[0];
    if (!row) return undefined;
    head.advance(link);
    const usage = toUsage({
      input: row.u_input,
      output: row.u_output,
      usd: row.u_usd,
      requests: row.u_requests,
    });
    return { event: toEvent(row), usage };
  };
  type Voted = { outcome: VoteOutcome; event?: AuditEvent };
  /**
   * The vote, its event and the signal to other replicas in one statement, so one round trip:
   * the outcome predicted from the caller's read (`pgPredictedVote`), the event made of it and
   * linked to this writer's chain, both written only if the row is still as read, and
   * `pg_notify` only for a row written (delivered at commit, so it never announces a decision
   * that was not made). Undefined (nothing written, the head not moved) when the read no longer
   * holds or predicts a refusal.
   */
  const voteAtOnce = async (
    request: VoteRequest,
    eventFor: (approval: Approval) => NewEvent,
  ): Promise<Voted | undefined> => {
    const { seen } = request;
    if (!seen || seen.id !== request.id) return undefined;
    const vote = pgPredictedVote(seen, request.vote, request.edited, request.now, 13);
    if (!vote) return undefined;
    const full = completeEvent(eventFor(vote.approval));
    const link = head.link(full);
    const signal = payload({ topic: 'approval', id: seen.id, state: vote.approval.state });
    const notify = 13 + vote.params.length;
    const { rows } = await pool.query<ApprovalRow & { event_id: string }>(
      `WITH ${vote.ctes},
         event AS (INSERT INTO events (${columns})
                   SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM moved RETURNING id)
       SELECT moved.*, event.id AS event_id, pg_notify($${notify}, $${notify + 1}) AS announced
       FROM moved, event`,
      [...eventValues(full, link), ...vote.params, CHANNEL, signal],
    );
    const row = rows[0];
    if (!row) return undefined;
    head.advance(link);
    return {
      outcome: { ok: true, approval: toApproval(row), announced: true },
      event: { id: Number(row.event_id), ...full, chain: link },
    };
  };
  const voteLocked = async (
    request: VoteRequest,
    eventFor: (approval: Approval) => NewEvent,
  ): Promise<Voted> => {
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
  };
  return {
    append: (event) => serial(async () => (await insert(event, null)) as AuditEvent),
    appendClosing: (event, intentId) => serial(() => insert(event, { closes: intentId })),
    appendMarking: (event, approvalId) => serial(() => insert(event, { marksUnknown: approvalId })),
    appendRetiring: (event, lease) => serial(() => insert(event, { retires: lease })),
    appendMoving: (event, move) => serial(() => insert(event, { moves: move })),
    appendSettling: (event, reservation) => serial(() => insert(event, { settles: reservation })),
    appendSettled: (event, s) => serial(() => settled(event, s)),
    appendAlerting: (event, key) => serial(() => insert(event, { alerts: key })),
    // A vote whose caller read the approval is one statement (see `voteAtOnce`); one the read
    // no longer predicts (a vote landed since), or without a read, is voted under a lock.
    appendVote: (request, eventFor) =>
      serial(async () => (await voteAtOnce(request, eventFor)) ?? (await voteLocked(request, eventFor))),
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
