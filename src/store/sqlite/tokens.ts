import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  decideReservation,
  type ReconciledReservation,
  type TokenAmounts,
  type TokenBudgetStore,
  type TokenCaps,
  type TokenRequest,
  type TokenUsage,
} from '../../budget/tokens.js';
import type { Migration } from './migrate.js';

export const tokenMigrations: Migration[] = [
  {
    id: 'tokens/1',
    sql: `
      CREATE TABLE token_usage (
        run_id TEXT PRIMARY KEY,
        input INTEGER NOT NULL DEFAULT 0,
        output INTEGER NOT NULL DEFAULT 0,
        usd REAL NOT NULL DEFAULT 0,
        requests INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE token_reservations (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        input INTEGER NOT NULL,
        output INTEGER NOT NULL,
        usd REAL NOT NULL
      );
      CREATE INDEX token_reservations_run ON token_reservations (run_id);`,
  },
  {
    // When and for what each reservation was made, so a crash's leftovers can be settled at start-up.
    id: 'tokens/2',
    sql: `
      ALTER TABLE token_reservations ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE token_reservations ADD COLUMN model TEXT;`,
  },
  {
    // The replica that made each reservation: a live replica settles those of a dead one at its
    // next heartbeat (src/replicas/lease.ts), and never those of another live one.
    id: 'tokens/3',
    sql: 'ALTER TABLE token_reservations ADD COLUMN owner TEXT;',
  },
];

export function sqliteTokens(db: Database.Database, owner: string): TokenBudgetStore {
  // Prepared once: the reservation sits on every LLM request's path to its first byte.
  const selectUsage = db.prepare('SELECT input, output, usd, requests FROM token_usage WHERE run_id = ?');
  const selectOpen = db.prepare(
    'SELECT COALESCE(SUM(input),0) AS input, COALESCE(SUM(output),0) AS output, COALESCE(SUM(usd),0) AS usd FROM token_reservations WHERE run_id = ?',
  );
  const insertReservation = db.prepare(
    'INSERT INTO token_reservations (id, run_id, input, output, usd, created_at, model, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  // Orphans: made by a replica that holds no lease (it died), or before owners were recorded.
  const selectStale = db.prepare(
    `SELECT id, run_id AS runId, input, output, usd, model, created_at AS createdAt FROM token_reservations
     WHERE (owner IS NULL AND created_at < ?) OR (owner IS NOT NULL AND owner NOT IN (SELECT id FROM replicas))`,
  );
  const deleteReservation = db.prepare('DELETE FROM token_reservations WHERE id = ? RETURNING run_id');
  const charge = db.prepare(
    `INSERT INTO token_usage (run_id, input, output, usd, requests) VALUES (?, ?, ?, ?, 1)
     ON CONFLICT (run_id) DO UPDATE SET input = input + excluded.input, output = output + excluded.output,
       usd = usd + excluded.usd, requests = requests + 1`,
  );
  const used = (runId: string): TokenUsage =>
    (selectUsage.get(runId) as TokenUsage | undefined) ?? {
      input: 0,
      output: 0,
      usd: 0,
      requests: 0,
    };
  const open = (runId: string): TokenAmounts => selectOpen.get(runId) as TokenAmounts;
  const reserve = db.transaction(
    (runId: string, request: TokenRequest, caps: TokenCaps, minOutput: number) => {
      const u = used(runId);
      const o = open(runId);
      const decision = decideReservation(
        { input: u.input + o.input, output: u.output + o.output, usd: u.usd + o.usd },
        request,
        caps,
        minOutput,
      );
      if (!decision.ok) return decision;
      const id = `tok_${randomBytes(9).toString('base64url')}`;
      insertReservation.run(
        id,
        runId,
        request.input,
        decision.grantedOutput,
        decision.usd,
        Date.now(),
        request.model ?? null,
        owner,
      );
      return { ok: true as const, id, grantedOutput: decision.grantedOutput };
    },
  );
  const settle = db.transaction((id: string, actual: TokenAmounts) => {
    const row = deleteReservation.get(id) as { run_id: string } | undefined;
    if (!row) return undefined;
    charge.run(row.run_id, actual.input, actual.output, actual.usd);
    return used(row.run_id);
  });
  const reconcile = db.transaction((before: number) => {
    const settled: ReconciledReservation[] = [];
    for (const r of selectStale.all(before) as ReconciledReservation[]) {
      // Another process reconciling the same file may have taken it first.
      if (!deleteReservation.get(r.id)) continue;
      charge.run(r.runId, r.input, r.output, r.usd);
      settled.push(r);
    }
    return settled;
  });
  return {
    async reconcile(before) {
      // Run every heartbeat: the write lock is only taken when there is something to settle.
      if (selectStale.all(before).length === 0) return [];
      return reconcile.immediate(before);
    },
    async reserve(runId, request, caps, minOutput) {
      return reserve.immediate(runId, request, caps, minOutput);
    },
    async settle(id, actual) {
      return settle.immediate(id, actual);
    },
    async usage(runId) {
      return used(runId);
    },
  };
}
