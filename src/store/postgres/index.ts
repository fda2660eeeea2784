/**
 * The PostgreSQL store, for several gateway replicas sharing one state. Every
 * check-and-write is a single conditional statement, so correctness does not
 * depend on which replica a request reaches.
 */
import pg from 'pg';
import { BulkheadError } from '../../errors.js';
import { newReplicaId } from '../replica-id.js';
import type { Store, StoreHealth } from '../store.js';
import { pgApprovalMigrations, pgApprovals } from './approvals.js';
import { pgCallMigrations, pgCalls } from './calls.js';
import { pgCredentialMigrations, pgCredentials } from './credentials.js';
import { pgEventStats } from './event-stats.js';
import { pgEventMigrations, pgEvents } from './events.js';
import { migratePg, type PgMigration } from './migrate.js';
import { pgNoticeMigrations, pgNotices } from './notices.js';
import { pgIntents, pgReplicaMigrations, pgReplicas, pgSessions } from './replicas.js';
import { pgRunMigrations, pgRuns } from './runs.js';
import { ownBackends, PgSignals } from './signals.js';
import { pgTokenMigrations, pgTokens } from './tokens.js';
import { reachable } from './unavailable.js';

export const pgMigrations: PgMigration[] = [
  ...pgRunMigrations,
  ...pgEventMigrations,
  ...pgCallMigrations,
  ...pgApprovalMigrations,
  ...pgTokenMigrations,
  ...pgCredentialMigrations,
  ...pgReplicaMigrations,
  ...pgNoticeMigrations,
];

export interface PostgresStore extends Store {
  readonly pool: pg.Pool;
}

export async function openPostgresStore(
  connectionString: string,
  options: { max?: number; listen?: boolean } = {},
): Promise<PostgresStore> {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
  // An idle client's error (server restart) must not crash the gateway; the next query reconnects.
  pool.on('error', () => undefined);
  const own = ownBackends(pool);
  try {
    await migratePg(pool, pgMigrations);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new BulkheadError('store_failed', 'cannot open the PostgreSQL store (check store.postgres.url)', {
      cause: error,
    });
  }
  const replica = newReplicaId();
  const signals = new PgSignals(pool, connectionString, own);
  // Without LISTEN (`listen: false`, for benchmarks) replicas learn of decisions by polling only.
  if (options.listen !== false) await signals.start();
  return {
    kind: 'postgres',
    pool,
    replica,
    // An unreachable server is `store_unavailable` from every area (unavailable.ts).
    runs: reachable(pgRuns(pool)),
    events: reachable(pgEvents(pool, replica)),
    stats: reachable(pgEventStats(pool)),
    calls: reachable(pgCalls(pool)),
    approvals: reachable(pgApprovals(pool, replica)),
    tokens: reachable(pgTokens(pool, replica)),
    credentials: reachable(pgCredentials(pool)),
    replicas: reachable(pgReplicas(pool)),
    intents: reachable(pgIntents(pool)),
    sessions: reachable(pgSessions(pool)),
    notices: reachable(pgNotices(pool)),
    signals,
    async health(): Promise<StoreHealth> {
      const started = performance.now();
      const ms = () => Math.round((performance.now() - started) * 1000) / 1000;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          pool.query('SELECT 1'),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('PostgreSQL did not answer within 1 s')), 1_000);
          }),
        ]);
        return { ok: true, ms: ms() };
      } catch (error) {
        return {
          ok: false,
          ms: ms(),
          code: 'store_unreachable',
          message: error instanceof Error ? error.message : String(error),
        };
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await signals.close();
      await pool.end();
    },
  };
}
