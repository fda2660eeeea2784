/**
 * The SQLite token reservations table is written twice per LLM request (the reservation before
 * the request is sent, its delete when it settles), and the first write is on the path to the
 * first byte, so it is kept to two b-trees: the table keyed by id (WITHOUT ROWID, migration
 * `tokens/4`) and the run index the budget sums by. A store opened on a file from before keeps
 * its open reservations: they still count against the budget and are still found as orphans.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, sqliteMigrations } from '../../src/store/sqlite/index.js';
import { migrate } from '../../src/store/sqlite/migrate.js';
import { tempDir } from '../helpers/harness.js';
import { framesOf } from './wal-frames.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

describe('sqlite token reservations table', () => {
  it('keeps the open reservations of a store written before the table was made lean', async () => {
    const file = join(tempDir(), 'store.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    // The schema as it was: every migration but tokens/4.
    migrate(
      old,
      sqliteMigrations.filter((m) => m.id !== 'tokens/4'),
    );
    old
      .prepare(
        `INSERT INTO token_reservations (id, run_id, input, output, usd, created_at, model, owner)
         VALUES ('tok_old', 'run_1', 100, 400, 0.25, 1, 'claude-test', 'rep_dead')`,
      )
      .run();
    old.close();

    const store = openSqliteStore(file);
    cleanup.push(() => store.close());
    const sql = (
      store.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'token_reservations'").get() as {
        sql: string;
      }
    ).sql;
    expect(sql).toMatch(/WITHOUT ROWID/);
    expect(
      store.db
        .prepare(
          "SELECT name FROM sqlite_master WHERE tbl_name = 'token_reservations' AND type = 'index' AND sql IS NOT NULL",
        )
        .all(),
    ).toEqual([{ name: 'token_reservations_run' }]);
    // Still held against the run's caps: 100 of 150 input tokens, 400 of 500 output.
    expect(await store.tokens.reserve('run_1', { input: 60, output: 10, usd: 0 }, { input: 150 }, 1)).toEqual(
      {
        ok: false,
        dimension: 'input',
        used: 100,
        cap: 150,
      },
    );
    const granted = await store.tokens.reserve(
      'run_1',
      { input: 10, output: 300, usd: 0 },
      { output: 500 },
      1,
    );
    expect(granted).toMatchObject({ ok: true, grantedOutput: 100 });
    if (granted.ok) await store.tokens.settle(granted.id, { input: 0, output: 0, usd: 0 });
    // And still an orphan to settle: its owner holds no lease.
    expect((await store.tokens.orphans(0)).map((r) => [r.id, r.runId, r.input, r.output, r.usd])).toEqual([
      ['tok_old', 'run_1', 100, 400, 0.25],
    ]);
    expect(await store.tokens.settle('tok_old', { input: 90, output: 350, usd: 0.2 })).toEqual({
      input: 90,
      output: 350,
      usd: 0.2,
      requests: 2, // the settle above, which charged nothing
    });
  });

  it('writes a reservation as two pages of the log', async () => {
    const store = openSqliteStore(join(tempDir(), 'store.db'));
    cleanup.push(() => store.close());
    const reserve = () =>
      store.tokens.reserve('run_1', { input: 10, output: 10, usd: 0 }, { output: 1e9 }, 1);
    await reserve();
    // A rowid table with its id key and run index was three (table, key, run).
    expect(await framesOf(store.db, reserve)).toBe(2);
  });
});
