/**
 * How a held call on replica B is released by a decision made on replica A
 * (issue 16, point 3), at the level of the approval service, on one real
 * PostgreSQL with each replica's own pool and LISTEN connection. Both
 * replicas poll the store only every 10 minutes, so a release within seconds
 * can only come from the notification:
 *
 * - a decision committed while B is re-reading the approval (the read
 *   answered `pending` a moment before) still releases B at once: the wake
 *   is kept until B sleeps, not dropped because nobody slept yet;
 * - the notification says `approved`, and B claims at once without reading
 *   the approval first (one round trip, not two);
 * - a forged notification (anyone who may connect can NOTIFY) saying
 *   `approved` releases nothing: the claim is the store's conditional write;
 * - a signal is sent on the listening connection, so it goes out while the
 *   pool is busy, and through the pool when there is no listener or when
 *   the listening connection stops answering (a silent network failure).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../src/approvals/approval.js';
import type { HoldOutcome, HoldRequest } from '../../src/approvals/hold.js';
import type { ApprovalService } from '../../src/approvals/service.js';
import type { EventWriter } from '../../src/events/writer.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { RunService } from '../../src/runs/service.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.js';
import { CHANNEL, PgSignals } from '../../src/store/postgres/signals.js';
import type { Signal, Store } from '../../src/store/store.js';
import { canonicalHash } from '../../src/util/canonical.js';
import { approvalServices } from '../helpers/approvals.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

const RARELY = 600_000;
/** Generous for a loaded 2-core machine, yet far below any poll: only the notification explains it. */
const PROMPTLY_MS = 5_000;
const _policy = parsePolicy(
  `version: 1\nstore: { sqlite: ':memory:' }\nupstreams: {}\nprofiles:\n  agent:\n    tools: []\n`,
);
const ARGS = { order_id: 'ORD-000042', amount_cents: 4200 };

interface Replica {
  store: PostgresStore;
  service: ApprovalService;
  runs: RunService;
  events: EventWriter;
  /** Every `approvals.get` the service made, by approval id. */
  reads: string[];
  /** Runs once inside the next `approvals.get`, after the real read, before it answers. */
  duringNextRead?: (id: string) => Promise<void>;
}

let server: TestPostgres | undefined;
const replicas: Replica[] = [];
let a: Replica;
let b: Replica;

async function replica(url: string, options: { max?: number; listen?: boolean } = {}): Promise<Replica> {
  const store = await openPostgresStore(url, options);
  const r = { store, reads: [] } as unknown as Replica;
  // The service sees the store through this: each read is counted, and a test can act inside one.
  const seen: Store = {
    ...store,
    approvals: {
      ...store.approvals,
      get: async (id: string): Promise<Approval | undefined> => {
        r.reads.push(id);
        const found = await store.approvals.get(id);
        const during = r.duringNextRead;
        r.duringNextRead = undefined;
        await during?.(id);
        return found;
      },
    },
  };
  const { service, runs, events } = approvalServices(store, { seenBy: seen, pollMs: RARELY });
  Object.assign(r, { service, runs, events });
  replicas.push(r);
  return r;
}

function request(runId: string, text = 'refund'): HoldRequest {
  const args = { ...ARGS, note: text };
  return {
    runId,
    tool: 'orders__refund_order',
    toolClass: 'irreversible',
    args,
    argsHash: canonicalHash(args),
    why: 'irreversible tool gated by policy',
    quorum: 1,
    approvers: ['approver'],
    timeoutMs: RARELY,
    signal: new AbortController().signal,
  };
}

async function pendingOn(r: Replica, runId: string): Promise<Approval> {
  for (let i = 0; i < 2_000; i++) {
    const [found] = await r.store.approvals.list({ state: 'pending', runId });
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('no pending approval');
}

/** Resolves when `r` has received a signal matching `match` from the server. */
function heard(r: Replica, match: (s: Signal) => boolean): Promise<Signal> {
  return new Promise((resolve) => {
    const stop = r.store.signals.subscribe((s) => {
      if (!match(s)) return;
      stop();
      resolve(s);
    });
  });
}

/** The outcome, or 'still held' if none within `ms`. */
async function within(outcome: Promise<HoldOutcome>, ms: number): Promise<HoldOutcome | 'still held'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still held'>((resolve) => {
    timer = setTimeout(() => resolve('still held'), ms);
  });
  try {
    return await Promise.race([outcome, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP relay to the server that can be frozen: it then passes nothing on, and closes nothing. */
async function relay(target: URL): Promise<{ url: string; freeze(): void; close(): void }> {
  const pairs: [Socket, Socket][] = [];
  const tcp: Server = createServer((inbound) => {
    const outbound = tcpConnect(Number(target.port), target.hostname);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    pairs.push([inbound, outbound]);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const address = tcp.address();
  const url = new URL(target.toString());
  url.port = String(typeof address === 'object' && address ? address.port : 0);
  return {
    url: url.toString(),
    freeze() {
      for (const [inbound, outbound] of pairs) {
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        inbound.pause();
        outbound.pause();
      }
    },
    close() {
      for (const [inbound, outbound] of pairs) {
        inbound.destroy();
        outbound.destroy();
      }
      tcp.close();
    },
  };
}

const approve = () => ({ operator: 'alice', decision: 'approve' as const, reason: null, at: Date.now() });
const runIf = describe.runIf(postgresAvailable() || process.env.CI === 'true');

beforeAll(async () => {
  if (!postgresAvailable() && process.env.CI !== 'true') return;
  server = await startPostgres();
  a = await replica(server.url);
  b = await replica(server.url);
}, 120_000);
afterAll(async () => {
  for (const r of replicas.splice(0)) {
    r.runs.close();
    await r.events.drain().catch(() => undefined);
    await r.store.close().catch(() => undefined);
  }
  server?.stop();
});

runIf('a held call on B released by a decision on A', { timeout: 120_000 }, () => {
  it('both replicas listen', () => {
    expect(a.store.signals.live()).toBe(true);
    expect(b.store.signals.live()).toBe(true);
  });

  it('releases B at once when the decision lands while B is re-reading the approval', async () => {
    const { run } = await b.runs.create('agent');
    // The first read of the wait answers `pending`; before it returns, A approves and B hears it.
    let decided = false;
    b.duringNextRead = async (id) => {
      const notified = heard(b, (s) => s.topic === 'approval' && s.id === id);
      await a.service.decide(id, approve());
      await notified;
      decided = true;
    };
    // Armed before the hold so its first read (the wait's own) is the one that races.
    const outcome = await within(b.service.hold(request(run.id, 'race')), PROMPTLY_MS);
    expect(decided).toBe(true);
    expect(outcome).toMatchObject({ ok: true, approval: { state: 'executing' } });
  });

  it('claims on the notification without reading the approval again', async () => {
    const { run } = await b.runs.create('agent');
    const held = b.service.hold(request(run.id, 'no read'));
    const pending = await pendingOn(a, run.id);
    // B has read it once and sleeps (it reads before it sleeps; wait for that read).
    for (let i = 0; i < 400 && !b.reads.includes(pending.id); i++) await new Promise((r) => setTimeout(r, 5));
    const readsBefore = b.reads.filter((id) => id === pending.id).length;
    expect(readsBefore).toBe(1);
    const notified = heard(b, (s) => s.topic === 'approval' && s.id === pending.id);
    await a.service.decide(pending.id, approve());
    expect(await notified).toEqual({ topic: 'approval', id: pending.id, state: 'approved' });
    expect(await within(held, PROMPTLY_MS)).toMatchObject({ ok: true });
    expect(b.reads.filter((id) => id === pending.id)).toHaveLength(readsBefore);
  });

  it('is not released by a forged notification saying approved; the real decision still decides', async () => {
    const { run } = await b.runs.create('agent');
    const held = b.service.hold(request(run.id, 'forged'));
    const pending = await pendingOn(a, run.id);
    const forger = new pg.Client({ connectionString: (server as TestPostgres).url });
    await forger.connect();
    try {
      for (const forged of [
        `approval:${pending.id}:approved`,
        `approval:${pending.id}:executing`,
        `approval:${pending.id}`,
        `approval:${pending.id}:approved:approved`,
        `approval:${pending.id}:APPROVED`,
        `run:${run.id}:approved`,
      ]) {
        const notified = heard(b, (s) => s.id === pending.id);
        await forger.query('SELECT pg_notify($1, $2)', [CHANNEL, forged]);
        // The well-formed ones reach the waiter; give it time to act on each.
        await within(
          notified.then(() => ({ ok: true }) as HoldOutcome),
          300,
        );
      }
      expect(await within(held, 500)).toBe('still held');
      expect((await a.store.approvals.get(pending.id))?.state).toBe('pending');
      await a.service.decide(pending.id, { ...approve(), decision: 'deny', reason: 'no' });
      expect(await within(held, PROMPTLY_MS)).toMatchObject({
        ok: false,
        denial: { code: 'approval_denied' },
      });
      expect((await a.store.approvals.get(pending.id))?.state).toBe('denied');
    } finally {
      await forger.end();
    }
  });

  it("sends a signal while the sending replica's pool is busy", async () => {
    const busy = await replica((server as TestPostgres).url, { max: 1 });
    const holder = busy.store.pool.query('SELECT pg_sleep(4)');
    try {
      // The one pool connection sleeps: a signal sent through the pool would wait 4 s.
      await new Promise((r) => setTimeout(r, 100));
      const notified = heard(b, (s) => s.id === 'apr_busy_pool');
      const started = Date.now();
      await busy.store.signals.publish({ topic: 'approval', id: 'apr_busy_pool', state: 'approved' });
      await notified;
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await holder;
    }
  });

  it('sends a signal through the pool when the listening connection stops answering', async () => {
    const url = (server as TestPostgres).url;
    const frozen = await relay(new URL(url));
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    // The listener reaches the server through the relay; the pool directly.
    const signals = new PgSignals(pool, frozen.url);
    await signals.start();
    try {
      expect(signals.live()).toBe(true);
      frozen.freeze();
      const notified = heard(b, (s) => s.id === 'apr_frozen_listener');
      const started = Date.now();
      await signals.publish({ topic: 'approval', id: 'apr_frozen_listener', state: 'approved' });
      await notified;
      expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    } finally {
      frozen.close();
      await signals.close();
      await pool.end();
    }
  });

  it('does not hear its own signal back from the server: one delivery on each replica', async () => {
    const onA: Signal[] = [];
    const stop = a.store.signals.subscribe((s) => s.id === 'apr_own_echo' && onA.push(s));
    try {
      const notified = heard(b, (s) => s.id === 'apr_own_echo');
      await a.store.signals.publish({ topic: 'approval', id: 'apr_own_echo', state: 'approved' });
      await notified;
      // The server sends a NOTIFY to every listener at once: B heard it, so A's copy has come too.
      await new Promise((r) => setTimeout(r, 300));
      expect(onA).toHaveLength(1);
    } finally {
      stop();
    }
  });

  it("does not deliver its own vote's notification to itself; the other replica hears it", async () => {
    const { run } = await a.runs.create('agent');
    const held = a.service.hold(request(run.id, 'own vote'));
    const pending = await pendingOn(a, run.id);
    const onA: Signal[] = [];
    const stop = a.store.signals.subscribe((s) => s.id === pending.id && onA.push(s));
    try {
      const notified = heard(b, (s) => s.id === pending.id);
      const seen = await a.store.approvals.get(pending.id);
      // With the caller's read the vote, its event and its NOTIFY are one statement.
      expect(await a.service.decide(pending.id, approve(), undefined, seen)).toMatchObject({
        announced: true,
      });
      expect(await notified).toEqual({ topic: 'approval', id: pending.id, state: 'approved' });
      expect(await within(held, PROMPTLY_MS)).toMatchObject({ ok: true });
      await new Promise((r) => setTimeout(r, 300));
      // Woken by its own code once the vote returned, never by the server's echo of it.
      expect(onA).toEqual([]);
    } finally {
      stop();
    }
  });

  it('sends a signal through the pool when it does not listen', async () => {
    const deaf = await replica((server as TestPostgres).url, { listen: false });
    expect(deaf.store.signals.live()).toBe(false);
    const notified = heard(b, (s) => s.id === 'apr_deaf_sender');
    await deaf.store.signals.publish({ topic: 'approval', id: 'apr_deaf_sender', state: 'denied' });
    expect(await notified).toEqual({ topic: 'approval', id: 'apr_deaf_sender', state: 'denied' });
  });
});
