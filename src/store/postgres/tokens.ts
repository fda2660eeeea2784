import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import {
  decideReservation,
  type TokenAmounts,
  type TokenBudgetStore,
  type TokenUsage,
} from '../../budget/tokens.js';
import type { PgMigration } from './migrate.js';

export const pgTokenMigrations: PgMigration[] = [
  {
    id: 'tokens/1',
    sql: `
      CREATE TABLE token_usage (
        run_id TEXT PRIMARY KEY,
        input BIGINT NOT NULL DEFAULT 0,
        output BIGINT NOT NULL DEFAULT 0,
        usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        requests INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE token_reservations (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        input BIGINT NOT NULL,
        output BIGINT NOT NULL,
        usd DOUBLE PRECISION NOT NULL
      );
      CREATE INDEX token_reservations_run ON token_reservations (run_id);`,
  },
  {
    // When and for what each reservation was made, so a crash's leftovers can be settled at start-up.
    id: 'tokens/2',
    sql: `
      ALTER TABLE token_reservations ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE token_reservations ADD COLUMN model TEXT;`,
  },
  {
    // The replica that made each reservation: a live replica settles those of a dead one at its
    // next heartbeat (src/replicas/lease.ts), and never those of another live one.
    id: 'tokens/3',
    sql: 'ALTER TABLE token_reservations ADD COLUMN owner TEXT;',
  },
];

/** A `token_usage` row (or none) as usage; the event store reads `pgSettleOwn`'s `charged` with it. */
export const toUsage = (row: Record<string, unknown> | undefined): TokenUsage => ({
  input: Number(row?.input ?? 0),
  output: Number(row?.output ?? 0),
  usd: Number(row?.usd ?? 0),
  requests: Number(row?.requests ?? 0),
});

/**
 * Orphans: made by a replica that holds no lease (it died), or before owners were recorded
 * (made before the time in parameter `before`). One statement against the lease table, so a
 * live replica's reservation is never taken.
 */
export const pgOrphaned = (before: string): string =>
  `((owner IS NULL AND created_at < ${before}) OR (owner IS NOT NULL AND owner NOT IN (SELECT id FROM replicas)))`;

/**
 * The data-modifying CTEs that settle one orphaned reservation at what it reserved: `gate`
 * deletes it if it is still open and still an orphan, `charged` adds it to its run's usage.
 * For the event store, whose insert of the `llm.request` event reads from `gate`, so the
 * settlement and its event are one statement (`EventStore.appendSettling`).
 */
export const pgSettleOrphan = (id: string, before: string): string =>
  `gate AS (DELETE FROM token_reservations WHERE id = ${id} AND ${pgOrphaned(before)}
            RETURNING run_id, input, output, usd),
   charged AS (INSERT INTO token_usage (run_id, input, output, usd, requests)
               SELECT run_id, input, output, usd, 1 FROM gate
               ON CONFLICT (run_id) DO UPDATE SET input = token_usage.input + excluded.input,
                 output = token_usage.output + excluded.output, usd = token_usage.usd + excluded.usd,
                 requests = token_usage.requests + 1)`;

/**
 * The data-modifying CTEs that settle a request's own open reservation at what it cost: `gate`
 * deletes it if it is still open, `charged` adds the cost (parameters from `amounts`, three in a
 * row: `settledAmounts`) to its run's usage and returns the row after. One statement, and the
 * event store's insert of the request's `llm.request` event reads from `gate`, so the charge
 * and its event are one statement too (`EventStore.appendSettled`).
 */
export const pgSettleOwn = (id: string, amounts: string): string => {
  const first = Number(amounts.slice(1));
  return `gate AS (DELETE FROM token_reservations WHERE id = ${id} RETURNING run_id),
   charged AS (INSERT INTO token_usage (run_id, input, output, usd, requests)
               SELECT run_id, $${first}::bigint, $${first + 1}::bigint, $${first + 2}::double precision, 1 FROM gate
               ON CONFLICT (run_id) DO UPDATE SET input = token_usage.input + excluded.input,
                 output = token_usage.output + excluded.output, usd = token_usage.usd + excluded.usd,
                 requests = token_usage.requests + 1
               RETURNING input, output, usd, requests)`;
};

/** The three parameters `pgSettleOwn` charges, in its order. */
export const settledAmounts = (a: TokenAmounts): number[] => [a.input, a.output, a.usd];

export function pgTokens(pool: Pool, owner: string): TokenBudgetStore {
  return {
    async reserve(runId, request, caps, minOutput, checked) {
      // No run is remembered here (no `rememberedRun`), so none can be confirmed.
      if (checked) return { ok: false, stale: true };
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // The usage row is the lock every replica queues on for this run.
        await client.query('INSERT INTO token_usage (run_id) VALUES ($1) ON CONFLICT DO NOTHING', [runId]);
        const u = toUsage(
          (await client.query('SELECT * FROM token_usage WHERE run_id = $1 FOR UPDATE', [runId])).rows[0],
        );
        const o = (
          await client.query(
            'SELECT COALESCE(SUM(input),0) AS input, COALESCE(SUM(output),0) AS output, COALESCE(SUM(usd),0) AS usd FROM token_reservations WHERE run_id = $1',
            [runId],
          )
        ).rows[0] as Record<string, unknown>;
        const decision = decideReservation(
          {
            input: u.input + Number(o.input),
            output: u.output + Number(o.output),
            usd: u.usd + Number(o.usd),
          },
          request,
          caps,
          minOutput,
        );
        if (!decision.ok) {
          await client.query('ROLLBACK');
          return decision;
        }
        const id = `tok_${randomBytes(9).toString('base64url')}`;
        await client.query(
          'INSERT INTO token_reservations (id, run_id, input, output, usd, created_at, model, owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [
            id,
            runId,
            request.input,
            decision.grantedOutput,
            decision.usd,
            Date.now(),
            request.model ?? null,
            owner,
          ],
        );
        await client.query('COMMIT');
        return { ok: true, id, grantedOutput: decision.grantedOutput };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async settle(id, actual) {
      const { rows } = await pool.query(`WITH ${pgSettleOwn('$1', '$2')} SELECT * FROM charged`, [
        id,
        ...settledAmounts(actual),
      ]);
      return rows[0] ? toUsage(rows[0]) : undefined;
    },
    async orphans(before) {
      const { rows } = await pool.query(
        `SELECT id, run_id, input, output, usd, model, created_at FROM token_reservations WHERE ${pgOrphaned('$1')}`,
        [before],
      );
      return (rows as Record<string, unknown>[]).map((r) => ({
        id: String(r.id),
        runId: String(r.run_id),
        input: Number(r.input),
        output: Number(r.output),
        usd: Number(r.usd),
        model: r.model === null ? null : String(r.model),
        createdAt: Number(r.created_at),
      }));
    },
    async usage(runId) {
      return toUsage((await pool.query('SELECT * FROM token_usage WHERE run_id = $1', [runId])).rows[0]);
    },
  };
}
