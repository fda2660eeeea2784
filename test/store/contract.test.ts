/**
 * One contract, two stores: the same specification runs against the SQLite
 * file store and a real PostgreSQL server, so the pipeline can rely on either.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
let seq = 0;

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(() => pg?.stop());

const stores: [string, () => Promise<Store>][] = [
  ['sqlite', async () => openSqliteStore(join(tempDir(), 'store.db'))],
  ['postgres', async () => openPostgresStore(pg.url)],
];

function newRun(store: Store, overrides: Partial<Parameters<Store['runs']['create']>[0]> = {}) {
  seq++;
  return store.runs.create({
    id: `run_${seq}_${Math.random().toString(36).slice(2)}`,
    profile: 'agent',
    tokenHash: `hash_${seq}_${Math.random()}`,
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    ...overrides,
  });
}

for (const [name, open] of stores) {
  describe(`${name} store`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('creates a run and finds it by id and by token hash', async () => {
      const run = await newRun(store, { label: 'x' });
      expect(run).toMatchObject({ state: 'active', label: 'x', taint: { untrusted: false, sources: [] } });
      expect((await store.runs.get(run.id))?.id).toBe(run.id);
      expect((await store.runs.byTokenHash(run.tokenHash))?.id).toBe(run.id);
    });

    it('ends a run exactly once, even when two enders race', async () => {
      const run = await newRun(store);
      const results = await Promise.all([
        store.runs.end(run.id, 'killed', 'a'),
        store.runs.end(run.id, 'completed', 'b', 0),
        store.runs.end(run.id, 'expired', 'c'),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.runs.get(run.id))?.state).toBe(results.find(Boolean)?.state);
    });

    it('records taint sources once each', async () => {
      const run = await newRun(store);
      await store.runs.taint(run.id, 'web__fetch');
      await store.runs.taint(run.id, 'web__fetch');
      const tainted = await store.runs.taint(run.id, 'tickets__read');
      expect(tainted?.taint).toEqual({ untrusted: true, sources: ['web__fetch', 'tickets__read'] });
    });

    it('records the data classes a run read, each source once', async () => {
      const run = await newRun(store);
      expect(run.read).toEqual({ private: [], secret: [] });
      await store.runs.markRead(run.id, 'private', 'crm__get_customer');
      await store.runs.markRead(run.id, 'private', 'crm__get_customer');
      await store.runs.markRead(run.id, 'secret', 'vault__read');
      const read = await store.runs.markRead(run.id, 'private', 'orders__get_order');
      expect(read?.read).toEqual({
        private: ['crm__get_customer', 'orders__get_order'],
        secret: ['vault__read'],
      });
      expect((await store.runs.get(run.id))?.read).toEqual(read?.read);
    });

    it('keeps value fingerprints per run, once each, up to a cap', async () => {
      const run = await newRun(store);
      const other = await newRun(store);
      const fp = (n: number) => ({ fingerprint: `fp${n}`, source: 'crm__get', kind: 'email' as const });
      await store.runs.addFingerprints(run.id, [fp(1), fp(2), fp(2)], 3);
      await store.runs.addFingerprints(run.id, [fp(3), fp(4), fp(5)], 3);
      const kept = await store.runs.fingerprints(run.id);
      expect(kept.map((k) => k.fingerprint).sort()).toEqual(['fp1', 'fp2', 'fp3']);
      expect(kept[0]).toMatchObject({ source: 'crm__get', kind: 'email' });
      expect(await store.runs.fingerprints(other.id)).toEqual([]);
    });

    it('lists runs by state, newest first', async () => {
      const a = await newRun(store, { createdAt: Date.now() + 1000 });
      const b = await newRun(store, { createdAt: Date.now() + 2000 });
      const listed = await store.runs.list({ state: 'active', limit: 2 });
      expect(listed.map((r) => r.id)).toEqual([b.id, a.id]);
    });

    it('appends events with increasing ids and filters them', async () => {
      const run = await newRun(store);
      const first = await store.events.append({
        kind: 'tools/call',
        runId: run.id,
        tool: 't',
        decision: 'allow',
        data: { a: 1 },
      });
      const second = await store.events.append({
        kind: 'tools/call',
        runId: run.id,
        tool: 't',
        decision: 'deny',
        code: 'invalid_arguments',
        data: {},
      });
      expect(second.id).toBeGreaterThan(first.id);
      expect((await store.events.list({ runId: run.id })).map((e) => e.id)).toEqual([second.id, first.id]);
      expect(
        (await store.events.list({ runId: run.id, code: 'invalid_arguments' })).map((e) => e.id),
      ).toEqual([second.id]);
      expect(await store.events.count({ runId: run.id, decision: 'allow' })).toBe(1);
      expect((await store.events.list({ runId: run.id, afterId: first.id })).map((e) => e.id)).toEqual([
        second.id,
      ]);
      expect((await store.events.list({ runId: run.id }))[1]?.data).toEqual({ a: 1 });
    });

    it('grants exactly the cap to 100 racing reservations', async () => {
      const run = await newRun(store);
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          store.calls.reserve({ runId: run.id, tool: 't', cap: 10, now: Date.now() }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      expect(await store.calls.usage(run.id)).toEqual({ calls: 10, perTool: { t: 10 } });
    });

    it('caps one tool without touching the others', async () => {
      const run = await newRun(store);
      const now = Date.now();
      const a = [];
      for (let i = 0; i < 4; i++)
        a.push(await store.calls.reserve({ runId: run.id, tool: 'a', toolCap: 2, now }));
      const b = await store.calls.reserve({ runId: run.id, tool: 'b', toolCap: 2, now });
      expect(a.map((r) => r.ok)).toEqual([true, true, false, false]);
      expect(a[2]).toMatchObject({ ok: false, code: 'budget_exhausted', scope: 'tool' });
      expect(b.ok).toBe(true);
    });

    it('refills a rate bucket with time', async () => {
      const run = await newRun(store);
      const rate = { count: 2, perMs: 1000 };
      const t0 = 1_000_000;
      const at = (now: number) => store.calls.reserve({ runId: run.id, tool: 'r', rate, now });
      expect((await at(t0)).ok).toBe(true);
      expect((await at(t0)).ok).toBe(true);
      expect(await at(t0)).toMatchObject({ ok: false, code: 'rate_limited', retryAfterMs: 500 });
      expect((await at(t0 + 500)).ok).toBe(true);
      expect((await at(t0 + 500)).ok).toBe(false);
    });

    it("charges the run's total and the called tool alone, and keeps each tool's bucket apart", async () => {
      const run = await newRun(store);
      const rate = { count: 1, perMs: 1000 };
      const t0 = 2_000_000;
      const call = (tool: string, now: number, cap?: number) =>
        store.calls.reserve({ runId: run.id, tool, rate, now, ...(cap !== undefined ? { cap } : {}) });
      expect(await call('a', t0)).toMatchObject({ ok: true, calls: 1, toolCalls: 1 });
      // Another tool has a bucket of its own; the total counts both.
      expect(await call('b', t0)).toMatchObject({ ok: true, calls: 2, toolCalls: 1 });
      // Refused calls charge nothing.
      expect(await call('a', t0)).toMatchObject({ ok: false, code: 'rate_limited' });
      expect(await call('a', t0 + 1000, 2)).toMatchObject({
        ok: false,
        code: 'budget_exhausted',
        scope: 'run',
      });
      expect(await call('a', t0 + 1000)).toMatchObject({ ok: true, calls: 3, toolCalls: 2 });
      expect(await store.calls.usage(run.id)).toEqual({ calls: 3, perTool: { a: 2, b: 1 } });
    });

    it('grants output tokens to racing reservations without overshooting the cap', async () => {
      const run = await newRun(store);
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          store.tokens.reserve(run.id, { input: 1, output: 10, usd: 0 }, { output: 100 }, 1),
        ),
      );
      const granted = results.reduce((n, r) => n + (r.ok ? r.grantedOutput : 0), 0);
      expect(granted).toBe(100);
      const first = results.find((r) => r.ok);
      if (first?.ok) await store.tokens.settle(first.id, { input: 1, output: 3, usd: 0.01 });
      expect(await store.tokens.usage(run.id)).toMatchObject({ input: 1, output: 3, requests: 1 });
    });

    it("writes a threshold's budget alert once, however many racing writers raise it", async () => {
      const run = await newRun(store);
      const alert = (fraction: number) =>
        store.events.appendAlerting(
          { kind: 'budget.alert', runId: run.id, code: 'tool_calls', actor: 'system', data: { fraction } },
          { runId: run.id, dimension: 'tool_calls', fraction },
        );
      const written = await Promise.all([alert(0.8), alert(0.8), alert(0.8), alert(1)]);
      expect(written.filter((e) => e?.data.fraction === 0.8)).toHaveLength(1);
      expect(written.filter((e) => e?.data.fraction === 1)).toHaveLength(1);
      expect(await alert(0.8)).toBeUndefined();
      expect(await store.events.count({ runId: run.id, kind: 'budget.alert' })).toBe(2);
    });

    it("keeps one run's alerts apart from another's and one dimension's from another's", async () => {
      const [a, b] = [await newRun(store), await newRun(store)];
      const alert = (runId: string, dimension: string) =>
        store.events.appendAlerting(
          { kind: 'budget.alert', runId, code: dimension, actor: 'system', data: {} },
          { runId, dimension, fraction: 0.8 },
        );
      expect(await alert(a.id, 'usd')).toBeDefined();
      expect(await alert(b.id, 'usd')).toBeDefined();
      expect(await alert(a.id, 'total_tokens')).toBeDefined();
    });

    it("hands the outbox's notices of an owner with no lease to one adopter each, oldest first", async () => {
      const tag = `${name}_${Date.now()}`;
      const [live, x, y] = [`live_${tag}`, `x_${tag}`, `y_${tag}`];
      for (const id of [live, x, y]) await store.replicas.register({ id, node: 'test-node', pid: 1 });
      const notice = (id: string, owner: string, createdAt: number) =>
        store.notices.put({ id: `${tag}_${id}`, owner, target: 'hook', body: '{}', createdAt });
      await notice('b', `gone_${tag}`, 2);
      await notice('a', `gone_${tag}`, 1);
      await notice('kept', live, 0);
      await notice('sent', `gone_${tag}`, 3);
      await store.notices.remove(`${tag}_sent`);
      const adopted = await Promise.all([
        store.notices.adoptOrphans(x, 100),
        store.notices.adoptOrphans(y, 100),
      ]);
      const mine = adopted.map((rows) => rows.filter((r) => r.id.startsWith(tag)).map((r) => r.id));
      expect(mine.flat().sort()).toEqual([`${tag}_a`, `${tag}_b`]);
      expect(mine.find((ids) => ids.length === 2)).toEqual([`${tag}_a`, `${tag}_b`]);
      for (const id of [live, x, y]) await store.replicas.retire(id);
    });

    it('hands an owner its deferred notices once they are due, each to one taker, with their rounds counted', async () => {
      const tag = `due_${name}_${Date.now()}`;
      const owner = `owner_${tag}`;
      const put = (id: string, who: string, createdAt: number) =>
        store.notices.put({ id: `${tag}_${id}`, owner: who, target: 'hook', body: '{}', createdAt });
      await put('late', owner, 2);
      await put('early', owner, 1);
      await put('later', owner, 3);
      await put('inflight', owner, 0);
      await put('theirs', `other_${tag}`, 0);
      await store.notices.defer(`${tag}_late`, 500);
      await store.notices.defer(`${tag}_early`, 100);
      await store.notices.defer(`${tag}_early`, 200);
      await store.notices.defer(`${tag}_later`, 5_000);
      await store.notices.defer(`${tag}_theirs`, 100);
      const taken = await Promise.all([
        store.notices.takeDue(owner, 1_000, 100),
        store.notices.takeDue(owner, 1_000, 100),
      ]);
      const ids = taken.flat().map((n) => n.id);
      expect(ids.sort()).toEqual([`${tag}_early`, `${tag}_late`]);
      const both = taken.find((rows) => rows.length === 2);
      expect(both?.map((n) => [n.id, n.rounds])).toEqual([
        [`${tag}_early`, 2],
        [`${tag}_late`, 1],
      ]);
      // Taken for a round: not due again until deferred again.
      expect(await store.notices.takeDue(owner, 10_000, 100)).toEqual([
        expect.objectContaining({ id: `${tag}_later`, rounds: 1 }),
      ]);
    });

    it('treats filter values as data, never as SQL', async () => {
      const events = await store.events.list({ tool: "t' OR '1'='1" });
      expect(events).toEqual([]);
    });
  });
}
