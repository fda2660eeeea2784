import type { Pool, PoolClient } from 'pg';
import { type CallBudgetStore, type CallReservation, refill, TOTAL } from '../../budget/calls.js';
import type { PgMigration } from './migrate.js';

export const pgCallMigrations: PgMigration[] = [
  {
    id: 'calls/1',
    sql: `
      CREATE TABLE call_counts (
        run_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        calls INTEGER NOT NULL DEFAULT 0,
        bucket DOUBLE PRECISION,
        bucket_at BIGINT,
        PRIMARY KEY (run_id, tool)
      );`,
  },
];

interface Row {
  calls: number;
  bucket: number | null;
  bucket_at: string | null;
}

async function lockRow(client: PoolClient, runId: string, tool: string): Promise<Row> {
  await client.query('INSERT INTO call_counts (run_id, tool) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    runId,
    tool,
  ]);
  const { rows } = await client.query<Row>(
    'SELECT calls, bucket, bucket_at FROM call_counts WHERE run_id = $1 AND tool = $2 FOR UPDATE',
    [runId, tool],
  );
  return rows[0] as Row;
}

export function pgCalls(pool: Pool): CallBudgetStore {
  return {
    async reserve(r) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // Rows are always locked in the same order (total, then tool): replicas queue, never deadlock.
        const total = await lockRow(client, r.runId, TOTAL);
        const tool = r.tool === TOTAL ? total : await lockRow(client, r.runId, r.tool);
        let outcome: CallReservation;
        let bucket: number | null = null;
        if (r.cap !== undefined && total.calls >= r.cap) {
          outcome = { ok: false, code: 'budget_exhausted', scope: 'run', calls: total.calls };
        } else if (r.toolCap !== undefined && tool.calls >= r.toolCap) {
          outcome = { ok: false, code: 'budget_exhausted', scope: 'tool', calls: tool.calls };
        } else {
          const available = r.rate
            ? refill(
                tool.bucket ?? r.rate.count,
                tool.bucket_at === null ? r.now : Number(tool.bucket_at),
                r.rate,
                r.now,
              )
            : Number.POSITIVE_INFINITY;
          if (r.rate && available < 1) {
            outcome = {
              ok: false,
              code: 'rate_limited',
              retryAfterMs: Math.ceil(((1 - available) * r.rate.perMs) / r.rate.count),
            };
          } else {
            bucket = r.rate ? available - 1 : null;
            outcome = { ok: true, calls: total.calls + 1, toolCalls: tool.calls + 1 };
          }
        }
        if (outcome.ok) {
          await client.query(
            'UPDATE call_counts SET calls = calls + 1, bucket = $1, bucket_at = $2 WHERE run_id = $3 AND tool = $4',
            [bucket, r.now, r.runId, r.tool],
          );
          await client.query('UPDATE call_counts SET calls = calls + 1 WHERE run_id = $1 AND tool = $2', [
            r.runId,
            TOTAL,
          ]);
        }
        await client.query('COMMIT');
        return outcome;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async usage(runId) {
      const { rows } = await pool.query<{ tool: string; calls: number }>(
        'SELECT tool, calls FROM call_counts WHERE run_id = $1',
        [runId],
      );
      const perTool: Record<string, number> = {};
      let calls = 0;
      for (const row of rows) {
        if (row.tool === TOTAL) calls = row.calls;
        else perTool[row.tool] = row.calls;
      }
      return { calls, perTool };
    },
  };
}
