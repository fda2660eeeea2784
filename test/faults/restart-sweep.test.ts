/**
 * What kill -9 of a single gateway on SQLite leaves, and what its next start
 * must clean up (issue 16): a gateway killed with a plain call, an approved
 * call and an LLM stream in flight leaves open intents, an `executing`
 * approval, an open token reservation, its lease and its upstreams' trees. The
 * next start on the same file and home must leave none of it open (each closed
 * with its `outcome_unknown` event), run none of the dead one's processes, and
 * report itself healthy; a clean stop of that gateway then leaves no lease,
 * no intent and no stray file in its home.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { connectAgent, recorded, tempDir } from '../helpers/harness.js';
import { REAL_KEY } from '../helpers/llm-harness.js';
import {
  api,
  approvalState,
  approvedCall,
  createRun,
  killAll,
  llmStreamInFlight,
  ORDERS_ENV,
  refundPolicy,
  spawnGateway,
  waitFor,
} from './processes.js';
import { processesWith } from './upstream-trees.js';

let fake: FakeAnthropic | undefined;
afterAll(async () => {
  killAll();
  await fake?.close();
});

/** What is open in the store file, read beside the gateway as an operator would. */
function openWork(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      intents: n('SELECT count(*) AS n FROM intents'),
      executing: n("SELECT count(*) AS n FROM approvals WHERE state = 'executing'"),
      reservations: n('SELECT count(*) AS n FROM token_reservations'),
      replicas: (db.prepare('SELECT pid FROM replicas').all() as { pid: number }[]).map((r) => r.pid),
    };
  } finally {
    db.close();
  }
}

describe('a single SQLite gateway killed with SIGKILL mid-work', () => {
  it('is cleaned up by its next start: no open work, no processes of the dead one, healthy', async () => {
    fake = await startFakeAnthropic();
    const dir = tempDir('bulkhead-restart-sweep-');
    // The orders server's own variable: every process of its tree carries it.
    const marker = `ORDERS_DB=${join(dir, 'orders.db')}`;
    const yaml = refundPolicy(dir, '{ sqlite: ./bulkhead.db }', fake.url);
    const env = { ...ORDERS_ENV, ANTHROPIC_API_KEY: REAL_KEY };
    const a = await spawnGateway(dir, yaml, env).ready;
    const deadPid = a.child.pid as number;
    const deadTrees = processesWith(marker);
    expect(deadTrees.length).toBeGreaterThan(0);

    // A plain call, an approved one and an LLM stream, all in flight.
    const { token } = await createRun(a.url, a.adminToken, 'agent');
    const agent = await connectAgent(a.url, token);
    const plain = agent
      .callTool({ name: 'orders__slow_echo', arguments: { ms: 60_000, text: 'hello' } }, undefined, {
        timeout: 300_000,
      })
      .catch(() => 'cut');
    const approval = await approvedCall(a, 'refund 3', 60_000);
    await waitFor(async () => (await approvalState(a, approval.id)) === 'executing');
    await waitFor(() => recorded(join(dir, 'received.jsonl')).length === 2, 30_000, 'both calls received');
    fake.delayMs = 1_000;
    const stream = await llmStreamInFlight(a.url, token);

    a.child.kill('SIGKILL');
    await a.exited;
    await Promise.all([approval.ended(), agent.close().catch(() => undefined), plain, stream.finished]);
    const file = join(dir, 'bulkhead.db');
    expect(openWork(file)).toEqual({ intents: 2, executing: 1, reservations: 1, replicas: [deadPid] });

    const b = await spawnGateway(dir, yaml, env).ready;
    const work = openWork(file);
    expect(work).toEqual({ intents: 0, executing: 0, reservations: 0, replicas: [b.child.pid] });
    const { body: events } = await api<{ events: { kind: string; code?: string }[] }>(
      b.url,
      b.adminToken,
      '/api/events?code=outcome_unknown&limit=100',
    );
    expect(events.events.map((e) => e.kind).sort()).toEqual([
      'approval.executed',
      'llm.request',
      'tools/call',
      'tools/call',
    ]);
    expect(deadTrees.filter((pid) => processesWith(marker).includes(pid))).toEqual([]);
    const { body: health } = await api<{ ok: boolean; problems: string[] }>(
      b.url,
      b.adminToken,
      '/api/health',
    );
    expect(health).toMatchObject({ ok: true, problems: [] });

    // A clean stop of the new gateway leaves no lease, nothing open, no temporary file in its home.
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(openWork(file)).toEqual({ intents: 0, executing: 0, reservations: 0, replicas: [] });
    const home = join(dir, 'home-policy.yaml');
    const files = readdirSync(home, { recursive: true }).map(String);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await waitFor(() => processesWith(marker).length === 0, 10_000, 'no upstream process left');
  }, 180_000);
});
