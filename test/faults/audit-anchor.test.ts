/**
 * Tampering that the hash chain alone cannot show (issue 16, point 8): the
 * chain is unkeyed, so whoever writes the store can cut a writer's tail
 * (its last events and the checkpoint a clean stop recorded) or edit an
 * event and recompute every later link and checkpoint. Both must still be
 * reported, by `bulkhead audit verify` (a real CLI process) and by the
 * gateway's start-up check, against the anchor the gateway keeps in its
 * home; on SQLite and on a real PostgreSQL with two replicas.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { genesis, linkHash } from '../../src/events/chain.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { ROOT, startTestGateway, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const POLICY = 'version: 1\nstore: { sqlite: ./bulkhead.db }\nupstreams: {}\nprofiles:\n  a: { tools: [] }\n';

function verifyCli(dir: string, home: string): { status: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/bulkhead.js'), 'audit', 'verify', '--policy', join(dir, 'policy.yaml'), '--home', home],
    { cwd: ROOT, env: { ...process.env, BULKHEAD_FROM_SOURCE: '1' }, encoding: 'utf8', timeout: 60_000 },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A gateway that ran, wrote some calls' events and stopped cleanly. */
async function session(dir = tempDir('bulkhead-anchor-')): Promise<{ dir: string; writer: string }> {
  const gw = await startTestGateway(POLICY, { dir });
  for (let i = 0; i < 6; i++)
    await gw.gateway.events.write({ kind: 'tools/call', runId: 'run_x', data: { i } });
  const writer = gw.gateway.store.replica;
  await gw.close();
  return { dir, writer };
}

/** What an attacker with the store does: edit one event, then re-link the rest and fix the checkpoints. */
async function rewriteConsistently(file: string, writer: string, seq: number, data: unknown): Promise<void> {
  const store = openSqliteStore(file);
  const events = await store.events.chain(writer, 0, 10_000);
  await store.close();
  const db = new Database(file);
  const rehashed = new Map<string, string>();
  let prev = genesis(writer);
  for (const e of events) {
    const link = e.chain;
    if (!link) continue;
    let fields = { ...e, data: link.seq === seq ? (data as Record<string, unknown>) : e.data };
    if (e.kind === 'audit.checkpoint') {
      const heads = (fields.data.heads as { writer: string; seq: number; hash: string }[]).map((h) => ({
        ...h,
        hash: rehashed.get(h.hash) ?? h.hash,
      }));
      fields = { ...fields, data: { ...fields.data, heads } };
    }
    const hash = linkHash(writer, link.seq, prev, fields);
    rehashed.set(link.hash, hash);
    db.prepare('UPDATE events SET data = ?, prev_hash = ?, hash = ? WHERE writer = ? AND seq = ?').run(
      JSON.stringify(fields.data),
      prev,
      hash,
      writer,
      link.seq,
    );
    prev = hash;
  }
  db.close();
}

describe('tampering the chain cannot show, on SQLite', () => {
  it("reports a writer's tail deleted after a clean stop, in audit verify and at the next start", async () => {
    const { dir, writer } = await session();
    const home = join(dir, 'home');
    expect(verifyCli(dir, home).status).toBe(0);
    const db = new Database(join(dir, 'bulkhead.db'));
    const { top } = db.prepare('SELECT max(seq) AS top FROM events WHERE writer = ?').get(writer) as {
      top: number;
    };
    // The last two calls and the checkpoint the stop recorded: the remaining chain is intact.
    db.prepare('DELETE FROM events WHERE writer = ? AND seq > ?').run(writer, top - 3);
    db.close();
    const elsewhere = join(dir, 'no-anchor');
    mkdirSync(elsewhere);
    expect(verifyCli(dir, elsewhere).status, 'the chain alone cannot see a cut tail').toBe(0);
    const { status, out } = verifyCli(dir, home);
    expect(status).toBe(1);
    expect(out).toContain('(deleted or rewritten)');

    const again = await startTestGateway(POLICY, { dir });
    try {
      expect(again.gateway.audit.report?.ok).toBe(false);
      expect(await again.gateway.store.events.count({ kind: 'audit.broken' })).toBe(1);
    } finally {
      await again.close();
    }
    expect(again.readLog()).toContain('the audit log chain is broken');
    // Alerted once: the anchor starts again from the log as it is (the audit.broken event keeps the
    // finding), so a store reset on purpose does not alarm at every start.
    const third = await startTestGateway(POLICY, { dir });
    try {
      expect(third.gateway.audit.report?.ok).toBe(true);
      expect(await third.gateway.store.events.count({ kind: 'audit.broken' })).toBe(1);
    } finally {
      await third.close();
    }
  }, 120_000);

  it('reports an event edited with every later link and checkpoint recomputed', async () => {
    const { dir, writer } = await session();
    const home = join(dir, 'home');
    await rewriteConsistently(join(dir, 'bulkhead.db'), writer, 3, { i: 'never happened' });
    const elsewhere = join(dir, 'no-anchor');
    mkdirSync(elsewhere);
    expect(verifyCli(dir, elsewhere).status, 'the rewrite is consistent within the store').toBe(0);
    const { status, out } = verifyCli(dir, home);
    expect(status).toBe(1);
    expect(out).toContain('(deleted or rewritten)');
    const again = await startTestGateway(POLICY, { dir });
    try {
      expect(again.gateway.audit.report?.ok).toBe(false);
    } finally {
      await again.close();
    }
  }, 120_000);
});

describe.runIf(postgresAvailable() || process.env.CI === 'true')('a cut tail on PostgreSQL', () => {
  let pg: TestPostgres | undefined;
  afterAll(() => pg?.stop());

  it("reports one replica's deleted tail at another replica's start", async () => {
    pg = await startPostgres();
    const dir = tempDir('bulkhead-anchor-pg-');
    const policy = POLICY.replace(/store: .*/, `store: { postgres: { url: ${JSON.stringify(pg.url)} } }`);
    const a = await startTestGateway(policy, { dir });
    const b = await startTestGateway(policy, { dir });
    const victim = a.gateway.store.replica;
    for (let i = 0; i < 6; i++) {
      await a.gateway.events.write({ kind: 'tools/call', runId: 'run_a', data: { i } });
      await b.gateway.events.write({ kind: 'tools/call', runId: 'run_b', data: { i } });
    }
    await a.close();
    await b.close();
    const c = await startTestGateway(policy, { dir });
    await c.close();
    const { Client } = (await import('pg')).default;
    const sql = new Client({ connectionString: pg.url });
    await sql.connect();
    await sql.query(
      'DELETE FROM events WHERE writer = $1 AND seq > (SELECT max(seq) - 3 FROM events WHERE writer = $1)',
      [victim],
    );
    // Checkpoints the other replicas recorded that name the cut head go too: only the anchor is left.
    await sql.query(`DELETE FROM events WHERE kind = 'audit.checkpoint' AND data::text LIKE $1`, [
      `%${victim}%`,
    ]);
    await sql.end();
    const d = await startTestGateway(policy, { dir });
    try {
      const report = d.gateway.audit.report;
      expect(report?.ok).toBe(false);
      expect(report?.findings).toContainEqual(
        expect.objectContaining({ kind: 'checkpoint_mismatch', writer: victim, found: null }),
      );
    } finally {
      await d.close();
    }
  }, 120_000);
});
