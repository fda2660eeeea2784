/**
 * The migration that adds the budget-alert gate (`events/3`) fills it from the alerts already
 * in the log: a store upgraded with a run past a threshold it was alerted of does not alert it
 * again, on SQLite and on PostgreSQL.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(() => server?.stop());

/** Takes a store back to before `events/3`: its alerts were written ungated, as then. */
const UNDO = ['DROP TABLE budget_alerts', "DELETE FROM schema_migrations WHERE id = 'events/3'"] as const;

async function alertedThenUpgraded(
  open: () => Promise<Store>,
  undo: (sql: string) => Promise<void>,
): Promise<Store> {
  const before = await open();
  await before.events.append({
    kind: 'budget.alert',
    runId: 'run_old',
    code: 'usd',
    actor: 'system',
    data: { dimension: 'usd', fraction: 0.8, used: 0.9, cap: 1 },
  });
  await before.close();
  for (const sql of UNDO) await undo(sql);
  return open();
}

const alertAgain = (store: Store, fraction: number) =>
  store.events.appendAlerting(
    { kind: 'budget.alert', runId: 'run_old', code: 'usd', actor: 'system', data: { fraction } },
    { runId: 'run_old', dimension: 'usd', fraction },
  );

describe('the budget-alert gate added to an existing store', () => {
  it('knows the thresholds a SQLite log alerted before the upgrade', async () => {
    const file = join(tempDir(), 'old.db');
    const store = await alertedThenUpgraded(
      async () => openSqliteStore(file),
      async (sql) => {
        const db = new Database(file);
        db.exec(sql);
        db.close();
      },
    );
    try {
      expect(await alertAgain(store, 0.8)).toBeUndefined();
      expect(await alertAgain(store, 1)).toBeDefined();
    } finally {
      await store.close();
    }
  });

  it('knows the thresholds a PostgreSQL log alerted before the upgrade', async () => {
    const database = `upgrade_${Date.now()}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(server.url);
    url.pathname = `/${database}`;
    const store = await alertedThenUpgraded(
      () => openPostgresStore(url.toString()),
      async (sql) => {
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        await client.query(sql);
        await client.end();
      },
    );
    try {
      expect(await alertAgain(store, 0.8)).toBeUndefined();
      expect(await alertAgain(store, 1)).toBeDefined();
    } finally {
      await store.close();
    }
  });
});
