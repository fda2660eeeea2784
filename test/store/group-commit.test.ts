/**
 * The SQLite store commits the budget reservations and intents of concurrent calls together
 * (src/store/sqlite/group-commit.ts). Each write must still be durable when its promise resolves,
 * a failing write must fail alone, and a lock held by another process must still be waited for.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import type { Intent } from '../../src/store/store.js';
import { tempDir } from '../helpers/harness.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function storeFile(): { file: string; store: SqliteStore } {
  const file = join(tempDir(), 'store.db');
  const store = openSqliteStore(file, { busy: { deadlineMs: 5_000 } });
  cleanup.push(() => store.close());
  return { file, store };
}

function intent(store: SqliteStore, id: string): Intent {
  return {
    id,
    owner: store.replica,
    runId: 'run_1',
    tool: 'http__echo',
    argsHash: 'h',
    arguments: { message: id },
    approvalId: null,
    startedAt: Date.now(),
  };
}

describe('sqlite group commit', () => {
  it('makes every write of a group visible to another connection once its promise resolves', async () => {
    const { file, store } = storeFile();
    const other = new Database(file, { readonly: true });
    cleanup.push(() => other.close());
    const writes = Array.from({ length: 20 }, (_, i) => [
      store.calls.reserve({ runId: 'run_1', tool: 'http__echo', cap: 100, now: Date.now() }),
      store.intents.open(intent(store, `int_${i}`)),
    ]).flat();
    await Promise.all(writes);
    expect(other.prepare('SELECT count(*) AS n FROM intents').get()).toEqual({ n: 20 });
    expect(other.prepare("SELECT calls FROM call_counts WHERE tool = 'http__echo'").get()).toEqual({
      calls: 20,
    });
  });

  it('fails only the write that failed, not the others committed with it', async () => {
    const { file, store } = storeFile();
    await store.intents.open(intent(store, 'int_taken'));
    const [duplicate, reserved, opened] = await Promise.allSettled([
      store.intents.open(intent(store, 'int_taken')),
      store.calls.reserve({ runId: 'run_1', tool: 'http__echo', cap: 5, now: Date.now() }),
      store.intents.open(intent(store, 'int_new')),
    ]);
    expect(duplicate.status).toBe('rejected');
    expect(reserved).toMatchObject({ status: 'fulfilled', value: { ok: true, calls: 1 } });
    expect(opened.status).toBe('fulfilled');
    const other = new Database(file, { readonly: true });
    cleanup.push(() => other.close());
    expect(other.prepare('SELECT id FROM intents ORDER BY id').all()).toEqual([
      { id: 'int_new' },
      { id: 'int_taken' },
    ]);
  });

  it('rejects a write alone in its group that fails, and the next group commits', async () => {
    const { store } = storeFile();
    await store.intents.open(intent(store, 'int_taken'));
    await expect(store.intents.open(intent(store, 'int_taken'))).rejects.toThrow(/UNIQUE/);
    await store.intents.open(intent(store, 'int_next'));
    expect((await store.intents.list({ runId: 'run_1' })).map((i) => i.id).sort()).toEqual([
      'int_next',
      'int_taken',
    ]);
  });

  it('still refuses past the cap when the racing reservations share one commit', async () => {
    const { store } = storeFile();
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        store.calls.reserve({ runId: 'run_1', tool: 'http__echo', cap: 4, now: Date.now() }),
      ),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(4);
    expect(outcomes.filter((o) => !o.ok)).toHaveLength(6);
  });

  it("waits for another process's write lock instead of failing the group", async () => {
    const { file, store } = storeFile();
    const locker = new Database(file);
    cleanup.push(() => locker.close());
    locker.exec('BEGIN IMMEDIATE');
    const pending = Promise.all([
      store.calls.reserve({ runId: 'run_1', tool: 'http__echo', now: Date.now() }),
      store.intents.open(intent(store, 'int_1')),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    locker.exec('COMMIT');
    const [reserved] = await pending;
    expect(reserved).toMatchObject({ ok: true, calls: 1 });
    expect((await store.intents.list({ runId: 'run_1' })).map((i) => i.id)).toEqual(['int_1']);
  });
});
