/**
 * Run credentials (OAuth grants, codes, tokens) on both stores, through two
 * store handles as two gateway replicas would hold them: a credential is
 * redeemed by exactly one of many racing takers, expiry is applied on read,
 * and ending a run revokes what could mint new access.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunCredential } from '../../src/runs/credentials.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(() => pg?.stop());

const sqliteFile = join(tempDir(), 'store.db');
const pairs: [string, () => Promise<[Store, Store]>][] = [
  ['sqlite', async () => [openSqliteStore(sqliteFile), openSqliteStore(sqliteFile)]],
  ['postgres', async () => [await openPostgresStore(pg.url), await openPostgresStore(pg.url)]],
];

let seq = 0;
const credential = (overrides: Partial<RunCredential> = {}): RunCredential => ({
  key: `key_${++seq}_${Math.random()}`,
  kind: 'grant',
  runId: 'run_x',
  clientId: null,
  expiresAt: Date.now() + 60_000,
  data: { note: 'n' },
  ...overrides,
});

for (const [name, open] of pairs) {
  describe(`${name} credentials`, () => {
    let a: Store;
    let b: Store;
    beforeAll(async () => {
      [a, b] = await open();
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('gives a credential to exactly one of twenty racing takers on two handles', async () => {
      const c = credential();
      await a.credentials.put(c);
      const now = Date.now();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).credentials.take(c.key, 'grant', now)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(results.find(Boolean)).toMatchObject({ runId: 'run_x', data: { note: 'n' } });
    });

    it('finds without consuming, and never returns an expired credential', async () => {
      const live = credential();
      const old = credential({ expiresAt: Date.now() - 1 });
      await a.credentials.put(live);
      await a.credentials.put(old);
      expect(await b.credentials.find(live.key, 'grant', Date.now())).toBeDefined();
      expect(await b.credentials.find(live.key, 'grant', Date.now())).toBeDefined();
      expect(await b.credentials.find(old.key, 'grant', Date.now())).toBeUndefined();
      expect(await b.credentials.take(old.key, 'grant', Date.now())).toBeUndefined();
    });

    it('does not confuse kinds: a grant is not an access token', async () => {
      const c = credential();
      await a.credentials.put(c);
      expect(await b.credentials.find(c.key, 'access', Date.now())).toBeUndefined();
    });

    it('revokes grants, codes and refresh tokens of an ended run, keeping access tokens readable', async () => {
      const runId = `run_end_${seq}`;
      const kinds = ['grant', 'code', 'refresh', 'access'] as const;
      const issued = kinds.map((kind) => credential({ kind, runId }));
      for (const c of issued) await a.credentials.put(c);
      await b.credentials.revokeRun(runId, Date.now());
      const after = await Promise.all(issued.map((c) => a.credentials.find(c.key, c.kind, Date.now())));
      expect(after.map(Boolean)).toEqual([false, false, false, true]);
    });

    it('prunes what expired, so the table does not grow with time', async () => {
      const old = credential({ expiresAt: Date.now() - 10_000 });
      await a.credentials.put(old);
      expect(await b.credentials.prune(Date.now() - 5_000)).toBeGreaterThanOrEqual(1);
    });
  });
}
