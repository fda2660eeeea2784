import { randomFillSync } from 'node:crypto';
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
import type { Run } from '../../runs/run.js';
import type { Settling } from '../store.js';
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
  {
    // Keyed by id in the table itself (WITHOUT ROWID): a reservation, made before every LLM
    // request is sent and deleted when it settles, is two pages of the log (the row, the run
    // index) instead of three (rowid table, id key, run index).
    id: 'tokens/4',
    sql: `
      CREATE TABLE token_reservations_lean (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        input INTEGER NOT NULL,
        output INTEGER NOT NULL,
        usd REAL NOT NULL,
        created_at INTEGER NOT NULL DEFAULT 0,
        model TEXT,
        owner TEXT
      ) WITHOUT ROWID;
      INSERT INTO token_reservations_lean
        SELECT id, run_id, input, output, usd, created_at, model, owner FROM token_reservations;
      DROP TABLE token_reservations;
      ALTER TABLE token_reservations_lean RENAME TO token_reservations;
      CREATE INDEX token_reservations_run ON token_reservations (run_id);`,
  },
];

/** Orphans: made by a replica that holds no lease (it died), or before owners were recorded (`?` = before). */
const ORPHANED = `((owner IS NULL AND created_at < ?) OR (owner IS NOT NULL AND owner NOT IN (SELECT id FROM replicas)))`;

const CHARGE = `INSERT INTO token_usage (run_id, input, output, usd, requests) VALUES (?, ?, ?, ?, 1)
  ON CONFLICT (run_id) DO UPDATE SET input = input + excluded.input, output = output + excluded.output,
    usd = usd + excluded.usd, requests = requests + 1`;

/**
 * Settles one orphaned reservation at what it reserved, if it is still open and still an
 * orphan; true when this call did. For the event store, which runs it in the transaction
 * that writes its `llm.request` event (`EventStore.appendSettling`).
 */
export function sqliteOrphanSettler(db: Database.Database): (s: Settling) => boolean {
  const take = db.prepare(
    `DELETE FROM token_reservations WHERE id = ? AND ${ORPHANED} RETURNING run_id, input, output, usd`,
  );
  const charge = db.prepare(CHARGE);
  return (s) => {
    const row = take.get(s.id, s.before) as
      | { run_id: string; input: number; output: number; usd: number }
      | undefined;
    if (!row) return false;
    charge.run(row.run_id, row.input, row.output, row.usd);
    return true;
  };
}

function usageReader(db: Database.Database): (runId: string) => TokenUsage {
  const selectUsage = db.prepare('SELECT input, output, usd, requests FROM token_usage WHERE run_id = ?');
  return (runId) =>
    (selectUsage.get(runId) as TokenUsage | undefined) ?? { input: 0, output: 0, usd: 0, requests: 0 };
}

/**
 * Settles a request's own open reservation at what it cost; the run's usage after, or undefined
 * when it was no longer open. Run inside a transaction: `TokenBudgetStore.settle`, or the event
 * store's, which writes the request's `llm.request` event in the same one (`appendSettled`).
 */
export function sqliteSettler(
  db: Database.Database,
): (id: string, actual: TokenAmounts) => TokenUsage | undefined {
  const deleteReservation = db.prepare('DELETE FROM token_reservations WHERE id = ? RETURNING run_id');
  const charge = db.prepare(CHARGE);
  const used = usageReader(db);
  return (id, actual) => {
    const row = deleteReservation.get(id) as { run_id: string } | undefined;
    if (!row) return undefined;
    charge.run(row.run_id, actual.input, actual.output, actual.usd);
    return used(row.run_id);
  };
}

/**
 * A reservation's id: `tok_` and 9 random bytes (base64url), drawn from a pool refilled from the
 * CSPRNG every 512 ids. A `randomBytes(9)` per id cost 12-17 µs, inside the transaction that sits
 * on every LLM request's path to its first byte; a slice of the pool costs 0.1.
 */
const ID_BYTES = 9;
const idPool = Buffer.alloc(ID_BYTES * 512);
let idOffset = idPool.length;
function reservationId(): string {
  if (idOffset + ID_BYTES > idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const id = `tok_${idPool.toString('base64url', idOffset, idOffset + ID_BYTES)}`;
  idOffset += ID_BYTES;
  return id;
}

/**
 * `unchanged(runId, run)`: whether `run` is still the run as the file holds it (the run cache's
 * object, nothing having written the row since), asked inside the reservation's transaction.
 */
export function sqliteTokens(
  db: Database.Database,
  owner: string,
  unchanged: (runId: string, run: Run) => boolean = () => false,
): TokenBudgetStore {
  // Prepared once: the reservation sits on every LLM request's path to its first byte.
  // What the run has spent plus what its open reservations hold, in one statement (added as
  // they were in JS: charged first, then the open sum).
  const selectCommitted = db.prepare(
    `SELECT COALESCE(u.input, 0) + o.input AS input, COALESCE(u.output, 0) + o.output AS output,
       COALESCE(u.usd, 0) + o.usd AS usd
     FROM (SELECT COALESCE(SUM(input),0) AS input, COALESCE(SUM(output),0) AS output, COALESCE(SUM(usd),0) AS usd
           FROM token_reservations WHERE run_id = ?) AS o
     LEFT JOIN token_usage AS u ON u.run_id = ?`,
  );
  const insertReservation = db.prepare(
    'INSERT INTO token_reservations (id, run_id, input, output, usd, created_at, model, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const selectOrphans = db.prepare(
    `SELECT id, run_id AS runId, input, output, usd, model, created_at AS createdAt FROM token_reservations
     WHERE ${ORPHANED}`,
  );
  const used = usageReader(db);
  const reserve = db.transaction(
    (runId: string, request: TokenRequest, caps: TokenCaps, minOutput: number, checked?: Run) => {
      if (checked && (checked.id !== runId || !unchanged(runId, checked)))
        return { ok: false as const, stale: true as const };
      const decision = decideReservation(
        selectCommitted.get(runId, runId) as TokenAmounts,
        request,
        caps,
        minOutput,
      );
      if (!decision.ok) return decision;
      const id = reservationId();
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
  const settle = db.transaction(sqliteSettler(db));
  return {
    async orphans(before) {
      return selectOrphans.all(before) as ReconciledReservation[];
    },
    async reserve(runId, request, caps, minOutput, checked) {
      return reserve.immediate(runId, request, caps, minOutput, checked);
    },
    async settle(id, actual) {
      return settle.immediate(id, actual);
    },
    async usage(runId) {
      return used(runId);
    },
  };
}
