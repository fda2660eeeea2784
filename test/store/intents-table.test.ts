/**
 * The SQLite intents table is written twice per call (the intent before forwarding, its delete
 * with the call's event), so it is kept to one b-tree (migration `replicas/2`). A store opened on
 * a file from before keeps its open intents, and they are still found as orphans to reconcile.
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

describe('sqlite intents table', () => {
  it('keeps the open intents of a store written before the table was made lean', async () => {
    const file = join(tempDir(), 'store.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    // The schema as it was: every migration up to replicas/1.
    migrate(
      old,
      sqliteMigrations.filter((m) => m.id !== 'replicas/2'),
    );
    expect(
      old
        .prepare(
          "SELECT count(*) AS n FROM sqlite_master WHERE tbl_name = 'intents' AND type = 'index' AND sql IS NOT NULL",
        )
        .get(),
    ).toEqual({ n: 2 });
    old
      .prepare(
        `INSERT INTO intents (id, owner, run_id, tool, args_hash, arguments, approval_id, started_at)
         VALUES ('int_old', 'rep_dead', 'run_1', 'http__echo', 'h', '{"message":"hi"}', NULL, 1)`,
      )
      .run();
    old.close();

    const store = openSqliteStore(file);
    cleanup.push(() => store.close());
    const sql = (
      store.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'intents'").get() as { sql: string }
    ).sql;
    expect(sql).toMatch(/WITHOUT ROWID/);
    expect(
      store.db
        .prepare("SELECT count(*) AS n FROM sqlite_master WHERE tbl_name = 'intents' AND type = 'index'")
        .get(),
    ).toEqual({ n: 0 }); // keyed by id in the table itself: no index beside it
    const orphans = await store.intents.orphans();
    expect(orphans.map((i) => [i.id, i.owner, i.runId, i.arguments])).toEqual([
      ['int_old', 'rep_dead', 'run_1', { message: 'hi' }],
    ]);
    // Closed by its event, as before.
    const closed = await store.events.appendClosing(
      { kind: 'tools/call', runId: 'run_1', tool: 'http__echo', decision: 'allow', data: {} },
      'int_old',
    );
    expect(closed?.id).toBeGreaterThan(0);
    expect(await store.intents.list({ runId: 'run_1' })).toEqual([]);
  });

  it('writes an intent as one page of the log', async () => {
    const store = openSqliteStore(join(tempDir(), 'store.db'));
    cleanup.push(() => store.close());
    const open = (id: string) =>
      store.intents.open({
        id,
        owner: store.replica,
        runId: 'run_1',
        tool: 'http__echo',
        argsHash: 'h',
        arguments: { message: id },
        approvalId: null,
        startedAt: Date.now(),
      });
    await open('int_warm');
    // With the two indexes and a rowid table it was four pages (table, key, owner, run).
    expect(await framesOf(store.db, () => open('int_1'))).toBe(1);
  });
});
