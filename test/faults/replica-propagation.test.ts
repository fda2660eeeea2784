/**
 * Across replicas (issue 16, point 3), two gateways on one real PostgreSQL,
 * each with its own pool and LISTEN connection: an approval decided on A
 * releases the call held on B, and a kill on A cancels B's in-flight call,
 * by NOTIFY. Both replicas re-read the store only every 10 minutes, so
 * nothing but the notification can explain delivery within seconds; a third
 * replica without LISTEN, polling as rarely, is not released in that time
 * (the check can fail). B closes the sessions of a run killed on A once they
 * are quiet. A dashboard sign-in made on A is accepted by B, and a sign-out
 * on B ends it on A.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PropagationOptions } from '../../src/gateway/gateway.js';
import {
  type Agent,
  denialCode,
  recorded,
  startTestGateway,
  type TestGateway,
  tempDir,
  text,
} from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { api, ORDERS_ENV, ordersUpstream, waitFor } from './processes.js';

const RARELY = 600_000;
/** Generous for a loaded 2-core machine, yet far below any poll: only NOTIFY can explain it. */
const PROMPTLY_MS = 5_000;

let pg: TestPostgres | undefined;
let a: TestGateway;
let b: TestGateway;

function policy(url: string, dir: string): string {
  return `
version: 1
store: { postgres: { url: ${JSON.stringify(url)} } }
upstreams:
  orders:
${ordersUpstream(dir)}
tools:
  orders:
    slow_echo:
      class: irreversible
      approval: { when: [{ arg: text, matches: '^refund' }], approvers: [approver] }
operators:
  alice: { token: { secret: ALICE }, roles: [approver, admin] }
profiles:
  agent:
    tools: [orders__slow_echo]
`;
}

async function replica(propagation: PropagationOptions): Promise<TestGateway> {
  if (!pg) throw new Error('no PostgreSQL');
  const dir = tempDir('bulkhead-propagation-');
  return startTestGateway(policy(pg.url, dir), { dir, env: ORDERS_ENV, gateway: { propagation } });
}

async function pendingFor(runId: string): Promise<{ id: string; run_hash: string }> {
  return waitFor(
    async () => {
      const { body } = await api<{ approvals: { id: string; run_id: string; run_hash: string }[] }>(
        a.gateway.url,
        ORDERS_ENV.ALICE,
        '/api/approvals?state=pending',
      );
      return body.approvals.find((p) => p.run_id === runId);
    },
    20_000,
    'pending approval',
  );
}

/** A call and when its answer arrived. */
function timed(agent: Agent, args: { ms: number; text: string }) {
  let at: number | undefined;
  const result = agent.client.callTool({ name: 'orders__slow_echo', arguments: args }).then((r) => {
    at = Date.now();
    return r;
  });
  return { result, answeredAt: () => at };
}

const runIf = describe.runIf(postgresAvailable() || process.env.CI === 'true');

beforeAll(async () => {
  if (!postgresAvailable() && process.env.CI !== 'true') return;
  pg = await startPostgres();
  const rarely = { pollMs: RARELY, fallbackPollMs: RARELY };
  a = await replica(rarely);
  b = await replica(rarely);
}, 120_000);
afterAll(async () => {
  await b?.close();
  await a?.close();
  pg?.stop();
});

runIf('decisions and kills reach another replica by LISTEN/NOTIFY', { timeout: 180_000 }, () => {
  it('both replicas listen', () => {
    expect(a.gateway.store.signals.live()).toBe(true);
    expect(b.gateway.store.signals.live()).toBe(true);
  });

  it('an approval decided on A releases the call held on B within seconds', async () => {
    const agent = await b.agent('agent');
    for (let round = 0; round < 3; round++) {
      const call = timed(agent, { ms: 0, text: `refund ${round}` });
      const pending = await pendingFor(agent.runId);
      const decidedAt = Date.now();
      const approved = await api(a.gateway.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
        method: 'POST',
        body: { args_hash: pending.run_hash },
      });
      expect(approved.status).toBe(200);
      const result = await call.result;
      expect(text(result)).toContain(`refund ${round}`);
      expect((call.answeredAt() ?? Infinity) - decidedAt).toBeLessThan(PROMPTLY_MS);
    }
    // B ran them: its upstream received each refund once.
    const received = recorded(join(b.dir, 'received.jsonl')).filter((r) => r.tool === 'slow_echo');
    expect(received.map((r) => (r.arguments as { text: string }).text)).toEqual([
      'refund 0',
      'refund 1',
      'refund 2',
    ]);
  });

  it('a kill on A cancels the call in flight on B within seconds', async () => {
    const agent = await b.agent('agent');
    const call = timed(agent, { ms: 60_000, text: 'in flight' });
    await waitFor(
      () =>
        recorded(join(b.dir, 'received.jsonl')).some(
          (r) => (r.arguments as { text?: string }).text === 'in flight',
        ),
      20_000,
      'call reached the upstream',
    );
    const killedAt = Date.now();
    const killed = await api(a.gateway.url, ORDERS_ENV.ALICE, `/api/runs/${agent.runId}/kill`, {
      method: 'POST',
      body: {},
    });
    expect(killed.status).toBe(200);
    const result = await call.result;
    expect(denialCode(result)).toBe('run_not_active');
    expect((call.answeredAt() ?? Infinity) - killedAt).toBeLessThan(PROMPTLY_MS);
    // B lets go of the run as if it had been killed there: its session closes once quiet (2 s).
    expect(b.gateway.mcp.sessionsOf(agent.runId)).toBe(1);
    await waitFor(
      () => b.gateway.mcp.sessionsOf(agent.runId) === 0,
      15_000,
      'session of the killed run closed',
    );
  });

  it('a replica without LISTEN, polling as rarely, is not released in that time', async () => {
    const deaf = await replica({ listen: false, pollMs: RARELY, fallbackPollMs: RARELY });
    try {
      expect(deaf.gateway.store.signals.live()).toBe(false);
      const agent = await deaf.agent('agent');
      const call = timed(agent, { ms: 0, text: 'refund deaf' });
      void call.result.catch(() => undefined);
      const pending = await pendingFor(agent.runId);
      await api(a.gateway.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
        method: 'POST',
        body: { args_hash: pending.run_hash },
      });
      await new Promise((r) => setTimeout(r, PROMPTLY_MS));
      expect(call.answeredAt()).toBeUndefined();
      await agent.close();
    } finally {
      await deaf.close();
    }
  });
});

runIf('dashboard sign-ins across replicas', { timeout: 120_000 }, () => {
  async function signIn(url: string) {
    const response = await fetch(`${url}/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ORDERS_ENV.ALICE }),
    });
    const body = (await response.json()) as { csrf?: string };
    return {
      status: response.status,
      cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '',
      csrf: body.csrf ?? '',
    };
  }

  it('a sign-in made on A is accepted by B for reads and state changes, and a sign-out on B ends it on A', async () => {
    const session = await signIn(a.gateway.url);
    expect(session.status).toBe(201);
    expect(session.cookie).toMatch(/^bulkhead_session=/);
    const onB = await fetch(`${b.gateway.url}/api/runs`, { headers: { cookie: session.cookie } });
    expect(onB.status).toBe(200);
    expect((await fetch(`${b.gateway.url}/api/runs`)).status).toBe(401);

    // A state change on B with A's session and its CSRF token.
    const { run } = await a.gateway.runs.create('agent');
    const kill = await fetch(`${b.gateway.url}/api/runs/${run.id}/kill`, {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-bulkhead-csrf': session.csrf, origin: b.gateway.url },
    });
    expect(kill.status).toBe(200);
    expect((await a.gateway.runs.get(run.id))?.state).toBe('killed');

    const out = await fetch(`${b.gateway.url}/ui/session`, {
      method: 'DELETE',
      headers: { cookie: session.cookie, 'x-bulkhead-csrf': session.csrf, origin: b.gateway.url },
    });
    expect(out.status).toBe(200);
    expect((await fetch(`${a.gateway.url}/api/runs`, { headers: { cookie: session.cookie } })).status).toBe(
      401,
    );
  });
});
