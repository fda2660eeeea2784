/**
 * The approval service against a real SQLite file: holding, waking, polling
 * another replica's decision, timeouts, progress, cancel and disconnect,
 * identical retries, and recovery after a crash.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventWriter } from '../events/writer.js';
import type { Notice, Notifier } from '../notify/notifier.js';
import { parsePolicy } from '../policy/load.js';
import { RunService } from '../runs/service.js';
import { createScrubber } from '../scrub/index.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { canonicalHash } from '../util/canonical.js';
import type { HoldRequest } from './hold.js';
import { ApprovalService, REUSE_WINDOW_MS } from './service.js';

const SECRET = 'svc-test-secret-value-7f3a9c';
const policy = parsePolicy(
  `version: 1\nstore: { sqlite: ':memory:' }\nupstreams: {}\nprofiles:\n  agent:\n    tools: []\n`,
);

interface Part {
  store: SqliteStore;
  service: ApprovalService;
  runs: RunService;
  events: EventWriter;
  sent: Notice[];
  clock: { now: number | undefined };
}
const opened: Part[] = [];

function part(
  file: string,
  opts: { pollMs?: number; progressEveryMs?: number; onSend?: (n: Notice, store: SqliteStore) => void } = {},
): Part {
  const store = openSqliteStore(file);
  const scrubber = createScrubber({ secrets: [SECRET] });
  const events = new EventWriter(store.events, scrubber);
  const clock: { now: number | undefined } = { now: undefined };
  const now = () => clock.now ?? Date.now();
  const runs = new RunService({ store, policy, events, scrubber, now });
  const sent: Notice[] = [];
  const notifier: Notifier = {
    send: (n) => {
      opts.onSend?.(n, store);
      sent.push(n);
    },
    drain: async () => undefined,
  };
  const service = new ApprovalService({
    store,
    events,
    notifier,
    runs,
    now,
    linkFor: (id) => `http://127.0.0.1/ui/approvals/${id}`,
    scrubber,
    pollMs: opts.pollMs ?? 60_000,
    ...(opts.progressEveryMs !== undefined ? { progressEveryMs: opts.progressEveryMs } : {}),
  });
  const p = { store, service, runs, sent, clock, events };
  opened.push(p);
  return p;
}

afterEach(async () => {
  for (const p of opened.splice(0)) {
    p.runs.close();
    await p.events.drain();
    await p.store.close();
  }
});

const file = () => join(mkdtempSync(join(tmpdir(), 'bulkhead-apsvc-')), 'b.db');
const ARGS = { order_id: 'ORD-000001', amount_cents: 100 };

function request(runId: string, signal: AbortSignal, over: Partial<HoldRequest> = {}): HoldRequest {
  return {
    runId,
    tool: 'orders__refund_order',
    toolClass: 'irreversible',
    args: ARGS,
    argsHash: canonicalHash(ARGS),
    why: 'irreversible tool gated by policy',
    quorum: 1,
    approvers: ['approver'],
    timeoutMs: 60_000,
    signal,
    ...over,
  };
}

async function pending(p: Part, runId: string, count = 1) {
  for (let i = 0; i < 400; i++) {
    const list = await p.store.approvals.list({ state: 'pending', runId });
    if (list.length >= count) return list;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no pending approval');
}

const approve = (operator = 'alice') => ({
  operator,
  decision: 'approve' as const,
  reason: null,
  at: Date.now(),
});

describe('ApprovalService', () => {
  it('persists the held call before any notifier hears of it', async () => {
    const seen: (string | undefined)[] = [];
    const p = part(file(), {
      // A synchronous look at the store at the moment of notification.
      onSend: (_n, store) =>
        seen.push(store.db.prepare('SELECT state FROM approvals').pluck().get() as string | undefined),
    });
    const { run } = await p.runs.create('agent');
    const held = p.service.hold(request(run.id, new AbortController().signal));
    const [a] = await pending(p, run.id);
    // The notice follows the durable approval.requested event (group-committed): wait for it.
    for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['pending']);
    await p.service.decide(a?.id as string, approve());
    await held;
  });

  it('wakes the waiting call at once when a decision is made in this gateway', async () => {
    const p = part(file(), { pollMs: 60_000 });
    const { run } = await p.runs.create('agent');
    const held = p.service.hold(request(run.id, new AbortController().signal));
    const [a] = await pending(p, run.id);
    const t0 = Date.now();
    await p.service.decide(a?.id as string, approve());
    const outcome = await held;
    expect(outcome.ok).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((await p.store.approvals.get(a?.id as string))?.state).toBe('executing');
  });

  it('sees a decision made through another replica by polling the store', async () => {
    const f = file();
    const here = part(f, { pollMs: 20 });
    const there = part(f, { pollMs: 20 });
    const { run } = await here.runs.create('agent');
    const held = here.service.hold(request(run.id, new AbortController().signal));
    const [a] = await pending(here, run.id);
    await there.service.decide(a?.id as string, approve());
    expect((await held).ok).toBe(true);
  });

  it('denies with approval_timeout when nobody decides in time', async () => {
    const p = part(file(), { pollMs: 20 });
    const { run } = await p.runs.create('agent');
    const outcome = await p.service.hold(request(run.id, new AbortController().signal, { timeoutMs: 50 }));
    expect(outcome).toMatchObject({ ok: false, denial: { code: 'approval_timeout' } });
    const [a] = await p.store.approvals.list({ runId: run.id });
    expect(a?.state).toBe('timed_out');
    expect(a?.decidedAt).toBeGreaterThanOrEqual(a?.expiresAt as number);
  });

  it('sends progress notifications while waiting when the client asked for them', async () => {
    const p = part(file(), { pollMs: 10, progressEveryMs: 20 });
    const { run } = await p.runs.create('agent');
    const ticks: number[] = [];
    const held = p.service.hold(
      request(run.id, new AbortController().signal, {
        progress: async (n) => {
          ticks.push(n);
        },
      }),
    );
    const [a] = await pending(p, run.id);
    await new Promise((r) => setTimeout(r, 150));
    await p.service.decide(a?.id as string, approve());
    await held;
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect([...ticks].sort((x, y) => x - y)).toEqual(ticks);
  });

  it('withdraws the approval when the client cancels', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const controller = new AbortController();
    const held = p.service.hold(request(run.id, controller.signal));
    const [a] = await pending(p, run.id);
    // The SDK aborts with the client's reason, a string, on notifications/cancelled.
    controller.abort('client cancelled');
    expect(await held).toMatchObject({ ok: false, denial: { code: 'approval_withdrawn' } });
    expect((await p.store.approvals.get(a?.id as string))?.state).toBe('withdrawn');
  });

  it('keeps the approval open when the client disconnects, for an identical retry', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const controller = new AbortController();
    const held = p.service.hold(request(run.id, controller.signal));
    const [a] = await pending(p, run.id);
    controller.abort(); // a closed connection carries no reason
    expect(await held).toMatchObject({ ok: false, denial: { code: 'approval_withdrawn' } });
    expect((await p.store.approvals.get(a?.id as string))?.state).toBe('pending');
  });

  it('answers run_not_active when the run is killed while it waits', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const held = p.service.hold(request(run.id, p.runs.signal(run.id)));
    const [a] = await pending(p, run.id);
    await p.runs.end(run.id, 'killed', 'test');
    expect(await held).toMatchObject({ ok: false, denial: { code: 'run_not_active' } });
    expect((await p.store.approvals.get(a?.id as string))?.state).toBe('withdrawn');
  });

  it('withdraws the open approvals of a run that is killed while nobody waits on them', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const gone = new AbortController();
    const held = p.service.hold(request(run.id, gone.signal));
    const [a] = await pending(p, run.id);
    gone.abort();
    await held;
    await p.runs.end(run.id, 'killed', 'test');
    for (let i = 0; i < 100 && (await p.store.approvals.get(a?.id as string))?.state === 'pending'; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect((await p.store.approvals.get(a?.id as string))?.state).toBe('withdrawn');
  });

  it('keeps the held calls of a run that ran out of budget, since they were within it', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const held = p.service.hold(request(run.id, p.runs.signal(run.id)));
    const [a] = await pending(p, run.id);
    await p.runs.end(run.id, 'exhausted', 'tool calls');
    await new Promise((r) => setTimeout(r, 50));
    expect((await p.store.approvals.get(a?.id as string))?.state).toBe('pending');
    await p.service.decide(a?.id as string, approve());
    expect((await held).ok).toBe(true);
  });

  it('lets an identical retry wait on the approval already open instead of opening another', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const gone = new AbortController();
    const first = p.service.hold(request(run.id, gone.signal));
    const [a] = await pending(p, run.id);
    gone.abort();
    await first;
    const retry = p.service.hold(request(run.id, new AbortController().signal));
    await new Promise((r) => setTimeout(r, 50));
    expect(await p.store.approvals.list({ runId: run.id })).toHaveLength(1);
    expect(p.sent.filter((n) => n.kind === 'approval.requested')).toHaveLength(1);
    await p.service.decide(a?.id as string, approve());
    expect(await retry).toMatchObject({ ok: true, approval: { id: a?.id } });
  });

  it('lets only one of two identical waiting calls run under one approval', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const one = p.service.hold(request(run.id, new AbortController().signal));
    await pending(p, run.id);
    const two = p.service.hold(request(run.id, new AbortController().signal));
    await new Promise((r) => setTimeout(r, 50));
    const [a] = await pending(p, run.id);
    await p.service.decide(a?.id as string, approve());
    const outcomes = await Promise.all([one, two]);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(outcomes.find((o) => !o.ok)).toMatchObject({ denial: { code: 'approval_denied' } });
  });

  it('releases an approved call to an identical retry within the reuse window only, once', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const gone = new AbortController();
    const held = p.service.hold(request(run.id, gone.signal));
    const [a] = await pending(p, run.id);
    gone.abort();
    await held;
    await p.service.decide(a?.id as string, approve());
    const hash = canonicalHash(ARGS);
    expect(await p.service.reuse(run.id, 'orders__delete_customer', hash)).toBeUndefined();
    expect(
      await p.service.reuse(run.id, 'orders__refund_order', canonicalHash({ ...ARGS, amount_cents: 1 })),
    ).toBeUndefined();
    p.clock.now = Date.now() + REUSE_WINDOW_MS + 1_000;
    expect(await p.service.reuse(run.id, 'orders__refund_order', hash)).toBeUndefined();
    p.clock.now = undefined;
    expect((await p.service.reuse(run.id, 'orders__refund_order', hash))?.id).toBe(a?.id);
    expect(await p.service.reuse(run.id, 'orders__refund_order', hash)).toBeUndefined();
  });

  it('marks overdue approvals nobody waits for as timed out', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const gone = new AbortController();
    const held = p.service.hold(request(run.id, gone.signal, { timeoutMs: 1_000 }));
    const [a] = await pending(p, run.id);
    gone.abort();
    await held;
    expect(await p.service.expireOverdue()).toBe(0);
    p.clock.now = Date.now() + 2_000;
    expect(await p.service.expireOverdue()).toBe(1);
    expect((await p.store.approvals.get(a?.id as string))?.state).toBe('timed_out');
  });

  it('turns executing approvals into outcome_unknown at recovery, and records it', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const held = p.service.hold(request(run.id, new AbortController().signal));
    const [a] = await pending(p, run.id);
    await p.service.decide(a?.id as string, approve());
    await held; // claimed: executing, and the "crash" leaves it so
    const recovered = await p.service.recover();
    expect(recovered.map((x) => x.id)).toEqual([a?.id]);
    expect((await p.store.approvals.get(a?.id as string))?.state).toBe('outcome_unknown');
    const [event] = await p.store.events.list({ kind: 'approval.executed', code: 'outcome_unknown' });
    expect(event?.data.approvalId).toBe(a?.id);
  });

  it('refuses an edit the scrubber would alter, or one carrying a redaction marker from the view', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const held = p.service.hold(request(run.id, new AbortController().signal));
    const [a] = await pending(p, run.id);
    const id = a?.id as string;
    expect(await p.service.decide(id, approve(), { note: SECRET })).toEqual({
      ok: false,
      code: 'edit_not_storable',
    });
    expect(await p.service.decide(id, approve(), { iban: '[REDACTED:iban]' })).toEqual({
      ok: false,
      code: 'edit_not_storable',
    });
    expect((await p.store.approvals.get(id))?.votes).toEqual([]);
    await p.service.decide(id, approve(), { ...ARGS, amount_cents: 50 });
    await held;
  });

  it('scrubs secrets out of what it persists, while the hash binds the real arguments', async () => {
    const p = part(file());
    const { run } = await p.runs.create('agent');
    const args = { note: `token ${SECRET}` };
    const held = p.service.hold(
      request(run.id, new AbortController().signal, { args, argsHash: canonicalHash(args) }),
    );
    const [a] = await pending(p, run.id);
    expect(JSON.stringify(a?.arguments)).not.toContain(SECRET);
    expect(a?.argsHash).toBe(canonicalHash(args));
    await p.service.decide(a?.id as string, { ...approve(), reason: `ok ${SECRET}` });
    await held;
    expect((await p.store.approvals.get(a?.id as string))?.reason).not.toContain(SECRET);
  });
});
