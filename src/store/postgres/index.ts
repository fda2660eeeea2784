/**
 * The PostgreSQL store, for several gateway replicas sharing one state. Every
 * check-and-write is a single conditional statement, so correctness does not
 * depend on which replica a request reaches.
 */
import pg from 'pg';
import { BulkheadError } from '../../errors.js';
import type { Store } from '../store.js';
import { pgApprovalMigrations, pgApprovals } from './approvals.js';
import { pgCallMigrations, pgCalls } from './calls.js';
import { pgCredentialMigrations, pgCredentials } from './credentials.js';
import { pgEventStats } from './event-stats.js';
import { pgEventMigrations, pgEvents } from './events.js';
import { migratePg, type PgMigration } from './migrate.js';
import { pgRunMigrations, pgRuns } from './runs.js';
import { pgTokenMigrations, pgTokens } from './tokens.js';

export const pgMigrations: PgMigration[] = [
  ...pgRunMigrations,
  ...pgEventMigrations,
  ...pgCallMigrations,
  ...pgApprovalMigrations,
  ...pgTokenMigrations,
  ...pgCredentialMigrations,
];

export interface PostgresStore extends Store {
  readonly pool: pg.Pool;
}

export async function openPostgresStore(
  connectionString: string,
  options: { max?: number } = {},
): Promise<PostgresStore> {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
  // An idle client's error (server restart) must not crash the gateway; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migratePg(pool, pgMigrations);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new BulkheadError('store_failed', 'cannot open the PostgreSQL store (check store.postgres.url)', {
      cause: error,
    });
  }
  return {
    kind: 'postgres',
    pool,
    runs: pgRuns(pool),
    events: pgEvents(pool),
    stats: pgEventStats(pool),
    calls: pgCalls(pool),
    approvals: pgApprovals(pool),
    tokens: pgTokens(pool),
    credentials: pgCredentials(pool),
    close: () => pool.end(),
  };
}
