import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startCheckpointer } from './checkpointer.js';
import { openSqliteStore } from './index.js';

const dirs: string[] = [];
function file(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-ckpt-'));
  dirs.push(dir);
  return join(dir, 'store.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function walDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  return db;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const size = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

describe('background checkpoints', () => {
  it('take checkpoints out of the connection that commits and still copy its log into the file', async () => {
    const path = file();
    const db = walDb(path);
    const checkpoints = startCheckpointer(db, path, { intervalMs: 20 });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const before = size(path);
    for (let i = 0; i < 300; i++) insert.run('x'.repeat(2000));
    // Nothing here checkpoints: only the worker can have grown the database file.
    for (let i = 0; i < 100 && size(path) < before + 300 * 2000; i++) await sleep(20);
    expect(size(path)).toBeGreaterThanOrEqual(before + 300 * 2000);
    await checkpoints.stop();
    // Stopped: the connection checkpoints itself again, as SQLite does by default.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 300 });
    reader.close();
  });

  it('keep the log bounded while commits never stop (the log restarts past maxFrames)', async () => {
    const path = file();
    const db = walDb(path);
    // Without the RESTART past maxFrames the log reached 52 MB here (checked with maxFrames 1e9).
    const maxFrames = 100;
    const checkpoints = startCheckpointer(db, path, { intervalMs: 10, maxFrames, restartWaitMs: 500 });
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const row = 'y'.repeat(16_000);
    let busy = 0;
    let written = 0;
    let largest = 0;
    // A commit every millisecond or so, 32 MB in all: a passive checkpoint alone rarely sees the log whole.
    while (written * row.length < 32 * 1024 * 1024) {
      try {
        insert.run(row);
        written++;
      } catch (error) {
        // The RESTART holds writes back for a moment; the store retries those (busy.ts).
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
        busy++;
      }
      largest = Math.max(largest, size(`${path}-wal`));
      await sleep(1);
    }
    await checkpoints.stop();
    db.close();
    expect(largest).toBeLessThan(16 * 100 * 4096);
    expect(busy).toBeLessThan(written);
  });

  it('let the store close with every write in the database file', async () => {
    const path = file();
    const store = openSqliteStore(path, { backgroundCheckpoints: { intervalMs: 20 } });
    for (let i = 0; i < 50; i++) {
      await store.events.append({ kind: 'tools/list', runId: null, actor: 'test', data: { i } });
    }
    await store.close();
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare("SELECT count(*) AS n FROM events WHERE kind = 'tools/list'").get()).toEqual({
      n: 50,
    });
    reader.close();
  });
});
