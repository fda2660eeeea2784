/**
 * The SQLite store serves a run from memory between changes (src/store/sqlite/run-cache.ts).
 * A run changed by another handle on the same file (another gateway process, a CLI with a
 * direct store) must read changed on the very next get, or a kill would not stop the next call.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { tempDir } from '../helpers/harness.js';

const open: SqliteStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function twoHandles(): [SqliteStore, SqliteStore] {
  const file = join(tempDir(), 'store.db');
  const a = openSqliteStore(file);
  const b = openSqliteStore(file);
  open.push(a, b);
  return [a, b];
}

async function newRun(store: SqliteStore) {
  return store.runs.create({
    id: `run_${Math.random().toString(36).slice(2)}`,
    profile: 'agent',
    tokenHash: `hash_${Math.random()}`,
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
  });
}

describe('sqlite run reads', () => {
  it('see a kill made through another handle on the next read', async () => {
    const [gateway, other] = twoHandles();
    const run = await newRun(gateway);
    for (let i = 0; i < 3; i++) expect((await gateway.runs.get(run.id))?.state).toBe('active');
    await other.runs.end(run.id, 'killed', 'killed elsewhere');
    expect((await gateway.runs.get(run.id))?.state).toBe('killed');
  });

  it('see taint and data reads recorded through another handle on the next read', async () => {
    const [gateway, other] = twoHandles();
    const run = await newRun(gateway);
    await gateway.runs.get(run.id);
    await other.runs.taint(run.id, 'web__fetch');
    expect((await gateway.runs.get(run.id))?.taint).toEqual({ untrusted: true, sources: ['web__fetch'] });
    await other.runs.markRead(run.id, 'secret', 'vault__read');
    expect((await gateway.runs.get(run.id))?.read.secret).toEqual(['vault__read']);
  });

  it("see the handle's own writes on the next read", async () => {
    const [gateway] = twoHandles();
    const run = await newRun(gateway);
    await gateway.runs.get(run.id);
    await gateway.runs.taint(run.id, 'web__fetch');
    expect((await gateway.runs.get(run.id))?.taint.sources).toEqual(['web__fetch']);
    await gateway.runs.markRead(run.id, 'private', 'crm__lookup');
    expect((await gateway.runs.get(run.id))?.read.private).toEqual(['crm__lookup']);
    await gateway.runs.end(run.id, 'exhausted', 'budget');
    expect((await gateway.runs.get(run.id))?.state).toBe('exhausted');
  });

  it('hand out runs nobody can edit for the calls that share them', async () => {
    const [gateway] = twoHandles();
    const run = await newRun(gateway);
    const read = await gateway.runs.get(run.id);
    if (!read) throw new Error('run not found');
    expect(() => {
      (read as { state: string }).state = 'active';
    }).toThrow(TypeError);
    expect(() => read.taint.sources.push('x')).toThrow(TypeError);
    expect(() => read.read.secret.push('x')).toThrow(TypeError);
    expect((await gateway.runs.get(run.id))?.taint.sources).toEqual([]);
  });
});

describe('a remembered run, confirmed by the token reservation', () => {
  const request = { input: 10, output: 10, usd: 0 };
  const caps = { output: 1_000 };

  async function remembered(store: SqliteStore, id: string) {
    await store.runs.get(id);
    const run = store.rememberedRun?.(id);
    if (!run) throw new Error('run not remembered');
    return run;
  }

  it('reserves when nothing has written the run since it was read', async () => {
    const [gateway] = twoHandles();
    const run = await newRun(gateway);
    const checked = await remembered(gateway, run.id);
    expect(await gateway.tokens.reserve(run.id, request, caps, 1, checked)).toMatchObject({ ok: true });
  });

  it('reserves nothing when another handle ended the run since', async () => {
    const [gateway, other] = twoHandles();
    const run = await newRun(gateway);
    const checked = await remembered(gateway, run.id);
    await other.runs.end(run.id, 'killed', 'killed elsewhere');
    expect(await gateway.tokens.reserve(run.id, request, caps, 1, checked)).toEqual({
      ok: false,
      stale: true,
    });
    expect((await gateway.tokens.orphans(Date.now() + 1)).filter((r) => r.runId === run.id)).toEqual([]);
  });

  it('reserves nothing when another handle tainted the run since', async () => {
    const [gateway, other] = twoHandles();
    const run = await newRun(gateway);
    const checked = await remembered(gateway, run.id);
    await other.runs.taint(run.id, 'web__fetch');
    expect(await gateway.tokens.reserve(run.id, request, caps, 1, checked)).toEqual({
      ok: false,
      stale: true,
    });
  });

  it('reserves nothing when this handle wrote the run since', async () => {
    const [gateway] = twoHandles();
    const run = await newRun(gateway);
    const checked = await remembered(gateway, run.id);
    await gateway.runs.end(run.id, 'killed', 'test');
    expect(gateway.rememberedRun?.(run.id)).toBeUndefined();
    expect(await gateway.tokens.reserve(run.id, request, caps, 1, checked)).toEqual({
      ok: false,
      stale: true,
    });
  });

  it('reserves nothing for a copy of the run or another run’s object', async () => {
    const [gateway] = twoHandles();
    const run = await newRun(gateway);
    const other = await newRun(gateway);
    const checked = await remembered(gateway, run.id);
    expect(await gateway.tokens.reserve(run.id, request, caps, 1, { ...checked })).toEqual({
      ok: false,
      stale: true,
    });
    const otherRun = await remembered(gateway, other.id);
    expect(await gateway.tokens.reserve(run.id, request, caps, 1, otherRun)).toEqual({
      ok: false,
      stale: true,
    });
  });
});
