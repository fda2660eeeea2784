/**
 * The token ledger on real SQLite files: reservations hold budget until they
 * settle, settlement releases the unused part, and threshold crossings are
 * reported once each, also when racing settlements come from several
 * processes on one file; and on a real PostgreSQL server through two store
 * handles, as two gateway replicas would.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Crossing, quantizeUsd, tokenCrossings } from '../../src/budget/thresholds.js';
import type { TokenAmounts, TokenCaps } from '../../src/budget/tokens.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { ROOT, tempDir } from '../helpers/harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const CAPS: TokenCaps = { input: 5000, output: 5000, total: 20_000, usd: 0.5 };
const ALERT_AT = [0.25, 0.5, 0.8, 1];

/** One request as the proxy makes it: reserve, then settle to a usage that varies with i. */
async function request(store: Store, runId: string, i: number): Promise<Crossing[]> {
  const reservation = await store.tokens.reserve(runId, { input: 10, output: 60, usd: 0 }, {}, 1);
  if (!reservation.ok) throw new Error('unexpected refusal');
  const charged: TokenAmounts = {
    input: 20 + (i % 5),
    output: 30 + (i % 11),
    usd: quantizeUsd(0.0013 * ((i % 3) + 1)),
  };
  const after = await store.tokens.settle(reservation.id, charged);
  return after ? tokenCrossings(after, charged, CAPS, ALERT_AT) : [];
}

const WORKER = `
import { openSqliteStore } from ${JSON.stringify(join(ROOT, 'src/store/sqlite/index.ts'))};
import { quantizeUsd, tokenCrossings } from ${JSON.stringify(join(ROOT, 'src/budget/thresholds.ts'))};
const store = openSqliteStore(process.argv[2]);
const offset = Number(process.argv[3]);
const caps = ${JSON.stringify(CAPS)};
const out = [];
for (let i = offset; i < offset + 50; i++) {
  const r = await store.tokens.reserve('run_shared', { input: 10, output: 60, usd: 0 }, {}, 1);
  const charged = { input: 20 + (i % 5), output: 30 + (i % 11), usd: quantizeUsd(0.0013 * ((i % 3) + 1)) };
  const after = await store.tokens.settle(r.id, charged);
  out.push(...tokenCrossings(after, charged, caps, ${JSON.stringify(ALERT_AT)}));
}
process.stdout.write(JSON.stringify(out));
`;

function worker(file: string, script: string, offset: number): Promise<Crossing[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, file, String(offset)], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Crossing[]) : reject(new Error(`worker exited ${code}`)),
    );
  });
}

const key = (c: Crossing) => `${c.dimension}@${c.fraction}`;

/** Every threshold the final usage is past, as `dimension@fraction`. */
function pastThresholds(usage: TokenAmounts): string[] {
  const used: [string, number, number | undefined][] = [
    ['input_tokens', usage.input, CAPS.input],
    ['output_tokens', usage.output, CAPS.output],
    ['total_tokens', usage.input + usage.output, CAPS.total],
    ['usd', usage.usd, CAPS.usd],
  ];
  return used.flatMap(([dimension, value, cap]) =>
    ALERT_AT.filter((f) => cap !== undefined && value >= f * cap).map((f) => `${dimension}@${f}`),
  );
}

describe('token ledger (SQLite)', () => {
  it('holds reserved output until settlement, then releases the unused part', async () => {
    const store = openSqliteStore(join(tempDir(), 'ledger.db'));
    const first = await store.tokens.reserve('r', { input: 5, output: 100, usd: 0 }, { output: 100 }, 1);
    expect(first).toMatchObject({ ok: true, grantedOutput: 100 });
    expect(
      await store.tokens.reserve('r', { input: 5, output: 10, usd: 0 }, { output: 100 }, 1),
    ).toMatchObject({
      ok: false,
      dimension: 'output',
    });
    if (first.ok) await store.tokens.settle(first.id, { input: 5, output: 30, usd: 0 });
    expect(
      await store.tokens.reserve('r', { input: 5, output: 100, usd: 0 }, { output: 100 }, 1),
    ).toMatchObject({
      ok: true,
      grantedOutput: 70,
    });
    await store.close();
  });

  it('charges the real usage even when it exceeds the reservation', async () => {
    const store = openSqliteStore(join(tempDir(), 'ledger.db'));
    const r = await store.tokens.reserve('r', { input: 5, output: 10, usd: 0 }, {}, 1);
    if (r.ok) await store.tokens.settle(r.id, { input: 40, output: 10, usd: 0 });
    expect(await store.tokens.usage('r')).toMatchObject({ input: 40, output: 10, requests: 1 });
    await store.close();
  });

  it('settles a reservation at most once', async () => {
    const store = openSqliteStore(join(tempDir(), 'ledger.db'));
    const r = await store.tokens.reserve('r', { input: 5, output: 10, usd: 0 }, {}, 1);
    if (!r.ok) throw new Error('refused');
    expect(await store.tokens.settle(r.id, { input: 5, output: 5, usd: 0 })).toBeDefined();
    expect(await store.tokens.settle(r.id, { input: 5, output: 5, usd: 0 })).toBeUndefined();
    expect((await store.tokens.usage('r')).requests).toBe(1);
    await store.close();
  });

  it('reports each threshold once across 100 racing requests in one process', async () => {
    const store = openSqliteStore(join(tempDir(), 'ledger.db'));
    const crossings = (
      await Promise.all(Array.from({ length: 100 }, (_, i) => request(store, 'r', i)))
    ).flat();
    // 100 requests: ~2,200 input, ~3,500 output, ~0.26 USD: each threshold below that once, none above.
    const expected = pastThresholds(await store.tokens.usage('r'));
    expect(crossings.map(key).sort()).toEqual(expected.sort());
    expect(expected.length).toBeGreaterThan(4);
    await store.close();
  });

  it('reports each threshold once when four processes settle on one file', async () => {
    const dir = tempDir();
    const file = join(dir, 'shared.db');
    await openSqliteStore(file).close();
    const script = join(dir, 'worker.mts');
    writeFileSync(script, WORKER);
    const crossings = (await Promise.all([0, 50, 100, 150].map((o) => worker(file, script, o)))).flat();
    const store = openSqliteStore(file);
    const usage = await store.tokens.usage('run_shared');
    await store.close();
    expect(usage.requests).toBe(200);
    // Each threshold the final usage is past fired exactly once, whichever process crossed it.
    expect(crossings.map(key).sort()).toEqual(pastThresholds(usage).sort());
    expect(crossings.map(key)).toContain('output_tokens@1');
  }, 60_000);
});

/** The USD clamp and crash reconciliation, the same on both stores. */
async function usdClampAndReconcile(store: Store, runId: string): Promise<void> {
  // $0.01 left after $0.001 of input, at $15 per million output tokens: 600 tokens.
  const r = await store.tokens.reserve(
    runId,
    { input: 10, output: 4096, usd: 0.001, usdPerOutput: 15e-6, model: 'm' },
    { usd: 0.01 },
    1,
  );
  expect(r).toMatchObject({ ok: true, grantedOutput: 600 });
  // Open reservations already hold the whole cap: the next request gets nothing.
  expect(
    await store.tokens.reserve(
      runId,
      { input: 1, output: 10, usd: 0, usdPerOutput: 15e-6 },
      { usd: 0.01 },
      1,
    ),
  ).toMatchObject({ ok: false, dimension: 'usd' });
  // Its replica holds a lease: a live request, neither an orphan nor settled by anyone.
  const later = Date.now() + 60_000;
  const event = { kind: 'llm.request' as const, runId, code: 'outcome_unknown', data: {} };
  await store.replicas.register({ id: store.replica, node: 'test', pid: process.pid });
  expect(await store.tokens.orphans(later)).toEqual([]);
  if (r.ok) expect(await store.events.appendSettling(event, { id: r.id, before: later })).toBeUndefined();
  // Its replica died (lease gone): found as an orphan, read only, so nothing is charged yet.
  expect(await store.replicas.retire(store.replica)).toBe(true);
  const leftovers = await store.tokens.orphans(later);
  expect(leftovers).toEqual([expect.objectContaining({ runId, input: 10, output: 600, model: 'm' })]);
  expect(leftovers[0]?.usd).toBeCloseTo(0.01, 9);
  expect((await store.tokens.usage(runId)).requests).toBe(0);
  // Settled with its event in one transaction, at what it reserved, once.
  const settling = { id: leftovers[0]?.id ?? '', before: later };
  expect(await store.events.appendSettling(event, settling)).toMatchObject({ code: 'outcome_unknown' });
  expect(await store.tokens.usage(runId)).toMatchObject({ input: 10, output: 600, requests: 1 });
  expect(await store.events.appendSettling(event, settling)).toBeUndefined();
  expect(await store.events.count({ runId, kind: 'llm.request' })).toBe(1);
  expect(await store.tokens.orphans(later)).toEqual([]);
  if (r.ok) expect(await store.tokens.settle(r.id, { input: 1, output: 1, usd: 0 })).toBeUndefined();
}

/** A live request's settlement and its event are one write: charged once, recorded once. */
async function settledWithItsEvent(store: Store, runId: string): Promise<void> {
  const r = await store.tokens.reserve(runId, { input: 10, output: 100, usd: 0.01 }, {}, 1);
  if (!r.ok) throw new Error('unexpected refusal');
  const event = { kind: 'llm.request' as const, runId, data: { model: 'm' } };
  const charge = { input: 12, output: 7, usd: 0.002 };
  const done = await store.events.appendSettled(event, { id: r.id, charge });
  expect(done?.event).toMatchObject({ kind: 'llm.request', runId });
  expect(done?.usage).toEqual({ input: 12, output: 7, usd: 0.002, requests: 1 });
  // Settled already: nothing written, nothing charged again.
  expect(await store.events.appendSettled(event, { id: r.id, charge })).toBeUndefined();
  expect(await store.tokens.usage(runId)).toEqual({ input: 12, output: 7, usd: 0.002, requests: 1 });
  expect(await store.events.count({ runId, kind: 'llm.request' })).toBe(1);
  expect(await store.tokens.settle(r.id, charge)).toBeUndefined();
}

describe('token ledger, USD and crashes (SQLite)', () => {
  it('settles a live request and writes its event in one write, once', async () => {
    const store = openSqliteStore(join(tempDir(), 'ledger.db'));
    await settledWithItsEvent(store, 'r');
    await store.close();
  });

  it('clamps output to what the USD cap can pay and settles a crash leftover at what it reserved, once', async () => {
    const store = openSqliteStore(join(tempDir(), 'ledger.db'));
    await usdClampAndReconcile(store, 'r');
    await store.close();
  });
});

describe('token ledger (PostgreSQL, two replicas)', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  it('reports each threshold once across 100 requests racing through two store handles', async () => {
    const [a, b] = await Promise.all([openPostgresStore(pg.url), openPostgresStore(pg.url)]);
    const runId = `run_pg_${Date.now()}`;
    try {
      const crossings = (
        await Promise.all(Array.from({ length: 100 }, (_, i) => request(i % 2 ? a : b, runId, i)))
      ).flat();
      const usage = await a.tokens.usage(runId);
      expect(usage.requests).toBe(100);
      const expected = pastThresholds(usage);
      expect(crossings.map(key).sort()).toEqual(expected.sort());
      expect(expected.length).toBeGreaterThan(4);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);

  it('remembers no run, so confirms none: a reservation against a remembered run is stale, nothing reserved', async () => {
    const store = await openPostgresStore(pg.url);
    const runId = `run_pg_checked_${Date.now()}`;
    try {
      expect(store.rememberedRun).toBeUndefined();
      const run = await store.runs.create({
        id: runId,
        profile: 'agent',
        tokenHash: `hash_${runId}`,
        createdAt: Date.now(),
        expiresAt: Date.now() + 60_000,
      });
      expect(await store.tokens.reserve(runId, { input: 10, output: 10, usd: 0 }, {}, 1, run)).toEqual({
        ok: false,
        stale: true,
      });
      expect((await store.tokens.orphans(Date.now() + 1)).filter((r) => r.runId === runId)).toEqual([]);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('settles a live request and writes its event in one write, once', async () => {
    const store = await openPostgresStore(pg.url);
    try {
      await settledWithItsEvent(store, `run_pg_settled_${Date.now()}`);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('clamps output to what the USD cap can pay and settles a crash leftover at what it reserved, once', async () => {
    const store = await openPostgresStore(pg.url);
    try {
      await usdClampAndReconcile(store, `run_pg_usd_${Date.now()}`);
    } finally {
      await store.close();
    }
  }, 60_000);
});
