import type Database from 'better-sqlite3';
import {
  type CallBudgetStore,
  type CallRequest,
  type CallReservation,
  refill,
  TOTAL,
} from '../../budget/calls.js';
import type { GroupCommit } from './group-commit.js';
import type { Migration } from './migrate.js';

export const callMigrations: Migration[] = [
  {
    id: 'calls/1',
    sql: `
      CREATE TABLE call_counts (
        run_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        calls INTEGER NOT NULL DEFAULT 0,
        bucket REAL,
        bucket_at INTEGER,
        PRIMARY KEY (run_id, tool)
      );`,
  },
];

interface Row {
  calls: number;
  bucket: number | null;
  bucket_at: number | null;
}

export function sqliteCalls(db: Database.Database, group: GroupCommit): CallBudgetStore {
  // Both rows a reservation checks and charges (the run's total and the tool's) in one statement
  // each: a statement costs about as much as the row work it does here.
  const both = db.prepare(
    'SELECT tool, calls, bucket, bucket_at FROM call_counts WHERE run_id = ? AND tool IN (?, ?)',
  );
  const ensure = db.prepare('INSERT OR IGNORE INTO call_counts (run_id, tool) VALUES (?, ?), (?, ?)');
  // The tool's row takes the new bucket, the total's keeps none (as two updates did).
  const charge = db.prepare(
    `UPDATE call_counts SET calls = calls + 1, bucket = CASE WHEN tool = ? THEN ? END, bucket_at = ?
     WHERE run_id = ? AND tool IN (?, ?)`,
  );
  const all = db.prepare('SELECT tool, calls FROM call_counts WHERE run_id = ?');
  const zero: Row = { calls: 0, bucket: null, bucket_at: null };

  const rows = (r: CallRequest): { total: Row; tool: Row } | undefined => {
    let total: Row | undefined;
    let tool: Row | undefined;
    for (const row of both.all(r.runId, TOTAL, r.tool) as (Row & { tool: string })[]) {
      if (row.tool === TOTAL) total = row;
      else tool = row;
    }
    return total && tool ? { total, tool } : undefined;
  };

  // Runs in a group commit's BEGIN IMMEDIATE (group-commit.ts), which takes the write lock
  // first: two processes on one file cannot both read the old count.
  const reserve = (r: CallRequest): CallReservation => {
    let found = rows(r);
    if (!found) {
      // A run's first call of this tool: both rows exist from here on.
      ensure.run(r.runId, TOTAL, r.runId, r.tool);
      found = rows(r) ?? { total: zero, tool: zero };
    }
    const { total, tool } = found;
    if (r.cap !== undefined && total.calls >= r.cap)
      return { ok: false, code: 'budget_exhausted', scope: 'run', calls: total.calls };
    if (r.toolCap !== undefined && tool.calls >= r.toolCap) {
      return { ok: false, code: 'budget_exhausted', scope: 'tool', calls: tool.calls };
    }
    let bucket: number | null = null;
    if (r.rate) {
      const available = refill(tool.bucket ?? r.rate.count, tool.bucket_at ?? r.now, r.rate, r.now);
      if (available < 1) {
        return {
          ok: false,
          code: 'rate_limited',
          retryAfterMs: Math.ceil(((1 - available) * r.rate.perMs) / r.rate.count),
        };
      }
      bucket = available - 1;
    }
    charge.run(r.tool, bucket, r.now, r.runId, TOTAL, r.tool);
    return { ok: true, calls: total.calls + 1, toolCalls: tool.calls + 1 };
  };

  return {
    async reserve(request) {
      return group.run(() => reserve(request));
    },
    async usage(runId) {
      const rows = all.all(runId) as { tool: string; calls: number }[];
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
