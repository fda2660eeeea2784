/**
 * Tampering shows (issue 16, point 8): events deleted, edited or reordered
 * directly in the store are reported by `bulkhead audit verify` (a real CLI
 * process on SQLite) and by the same verifier on a real PostgreSQL server.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/events/verify.js';
import { EventWriter } from '../../src/events/writer.js';
import { createScrubber } from '../../src/scrub/index.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { ROOT, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

function verifyCli(policy: string): { status: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/bulkhead.js'), 'audit', 'verify', '--policy', policy],
    {
      cwd: ROOT,
      env: { ...process.env, BULKHEAD_FROM_SOURCE: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('bulkhead audit verify on SQLite', () => {
  it('passes an intact log, then reports a deleted, an edited and a reordered event', async () => {
    const dir = tempDir('bulkhead-tamper-');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      'version: 1\nstore: { sqlite: ./bulkhead.db }\nupstreams:\n  x: { command: node }\nprofiles:\n  a: { tools: [] }\n',
    );
    const store = openSqliteStore(join(dir, 'bulkhead.db'));
    const writer = new EventWriter(store.events, createScrubber());
    for (let i = 0; i < 8; i++) await writer.write({ kind: 'tools/call', runId: 'run_x', data: { i } });
    await store.close();
    expect(verifyCli(policy)).toMatchObject({ status: 0 });

    const db = new Database(join(dir, 'bulkhead.db'));
    db.prepare('DELETE FROM events WHERE seq = 3').run(); // an agent deleting its own call
    db.prepare(`UPDATE events SET data = '{"i":99}' WHERE seq = 5`).run();
    // Swap two rows' places in the log (ids), keeping their content.
    db.exec('UPDATE events SET id = -id WHERE seq IN (6, 7)');
    const [a, b] = db.prepare('SELECT id FROM events WHERE id < 0 ORDER BY id DESC').all() as {
      id: number;
    }[];
    db.prepare('UPDATE events SET id = ? WHERE id = ?').run(-(b?.id ?? 0), a?.id);
    db.prepare('UPDATE events SET id = ? WHERE id = ?').run(-(a?.id ?? 0), b?.id);
    db.close();
    const { status, out } = verifyCli(policy);
    expect(status).toBe(1);
    expect(out).toContain('(deleted)');
    expect(out).toContain('(edited)');
    expect(out).toContain('(reordered)');
  }, 120_000);
});

describe.runIf(postgresAvailable() || process.env.CI === 'true')('audit chain on PostgreSQL', () => {
  let pg: TestPostgres | undefined;
  afterAll(() => pg?.stop());

  it('keeps one chain per replica and reports a deleted event of either', async () => {
    pg = await startPostgres();
    const one = await openPostgresStore(pg.url);
    const two = await openPostgresStore(pg.url);
    try {
      const w1 = new EventWriter(one.events, createScrubber());
      const w2 = new EventWriter(two.events, createScrubber());
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? w1 : w2).write({ kind: 'tools/call', data: { i } })),
      );
      expect((await verifyLog(one.events)).findings).toEqual([]);
      expect(await one.events.writers()).toHaveLength(2);
      await one.pool.query('DELETE FROM events WHERE writer = $1 AND seq = 4', [two.replica]);
      const report = await verifyLog(one.events);
      expect(report.ok).toBe(false);
      expect(report.findings).toContainEqual(
        expect.objectContaining({ kind: 'deleted', writer: two.replica, fromSeq: 4, toSeq: 4 }),
      );
    } finally {
      await one.close();
      await two.close();
    }
  }, 120_000);
});
