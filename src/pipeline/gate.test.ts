/**
 * The gate stage on its own, with a real approval service on a SQLite file:
 * what it lets through untouched, what it holds, and what it executes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ONE_PROFILE_POLICY, openRunService } from '../../test/helpers/run-service.js';
import { ApprovalService } from '../approvals/service.js';
import type { CatalogTool } from '../gateway/catalog.js';
import type { ApprovalRule } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { SqliteStore } from '../store/sqlite/index.js';
import { gateStage } from './gate.js';
import type { ToolCall } from './stage.js';

let store: SqliteStore;
let runs: RunService;
let opened: ReturnType<typeof openRunService> | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

function setup() {
  opened = openRunService();
  const { events, scrubber } = opened;
  store = opened.store;
  runs = opened.runs;
  const approvals = new ApprovalService({
    store,
    events,
    notifier: { send: () => undefined, drain: async () => undefined },
    runs,
    now: Date.now,
    linkFor: (id) => id,
    scrubber,
    pollMs: 10,
  });
  return { gate: gateStage({ approvals }), approvals };
}

function tool(approval?: Partial<ApprovalRule>): CatalogTool {
  return {
    exposed: 'orders__refund_order',
    upstream: 'orders',
    original: 'refund_order',
    rule: {
      class: 'irreversible',
      ...(approval
        ? {
            approval: {
              when: 'always',
              approvers: ['approver'],
              quorum: 1,
              timeout: 60_000,
              allow_edit: true,
              ...approval,
            },
          }
        : {}),
    },
  } as unknown as CatalogTool;
}

function call(
  run: Run,
  entry: CatalogTool,
  args: Record<string, unknown>,
  extra: Partial<ToolCall> = {},
): ToolCall {
  return {
    run,
    profile: ONE_PROFILE_POLICY.profiles.agent as ToolCall['profile'],
    profileName: 'agent',
    name: entry.exposed,
    rawArgs: args,
    signal: new AbortController().signal,
    startedAt: Date.now(),
    tool: entry,
    args,
    flags: [],
    ...extra,
  };
}

async function pendingId(runId: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const [a] = await store.approvals.list({ state: 'pending', runId });
    if (a) return a.id;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no pending approval');
}

const yes = { operator: 'alice', decision: 'approve' as const, reason: null, at: 0 };

describe('gateStage', () => {
  it('lets a call of an ungated tool through without opening an approval', async () => {
    const { gate } = setup();
    const { run } = await runs.create('agent');
    expect(await gate(call(run, tool(), { amount: 1 }))).toEqual({ ok: true });
    expect(await store.approvals.list()).toEqual([]);
  });

  it('lets a call through when none of the rule argument conditions holds', async () => {
    const { gate } = setup();
    const { run } = await runs.create('agent');
    const entry = tool({ when: [{ arg: 'amount', gt: 100 }] });
    expect(await gate(call(run, entry, { amount: 5 }))).toEqual({ ok: true });
    expect(await store.approvals.list()).toEqual([]);
  });

  it('holds an ungated call that a flow stage asked approval for', async () => {
    const { gate, approvals } = setup();
    const { run } = await runs.create('agent');
    const c = call(run, tool(), { amount: 1 }, { approvalReason: 'the run read untrusted content' });
    const held = gate(c);
    const id = await pendingId(run.id);
    expect((await store.approvals.get(id))?.why).toBe('the run read untrusted content');
    await approvals.decide(id, yes);
    expect(await held).toEqual({ ok: true });
    expect(c.approvalId).toBe(id);
  });

  it('replaces the arguments with the approver edit once approved', async () => {
    const { gate, approvals } = setup();
    const { run } = await runs.create('agent');
    const c = call(run, tool({}), { amount: 9_000 });
    const held = gate(c);
    const id = await pendingId(run.id);
    await approvals.decide(id, yes, { amount: 500 });
    await held;
    expect(c.args).toEqual({ amount: 500 });
  });

  it('binds to the canonical arguments, so key order does not make a retry a different call', async () => {
    const { gate, approvals } = setup();
    const { run } = await runs.create('agent');
    const gone = new AbortController();
    const first = gate(call(run, tool({}), { a: 1, b: 2 }, { signal: gone.signal }));
    const id = await pendingId(run.id);
    gone.abort();
    await first;
    await approvals.decide(id, yes);
    const retry = call(run, tool({}), { b: 2, a: 1 });
    expect(await gate(retry)).toEqual({ ok: true });
    expect(retry.approvalId).toBe(id);
  });

  it('denies with the approval denial code and keeps the approval id for the record', async () => {
    const { gate, approvals } = setup();
    const { run } = await runs.create('agent');
    const c = call(run, tool({}), { amount: 1 });
    const held = gate(c);
    const id = await pendingId(run.id);
    await approvals.decide(id, { ...yes, decision: 'deny', reason: 'no' });
    expect(await held).toMatchObject({ ok: false, denial: { code: 'approval_denied' } });
    expect(c.approvalId).toBe(id);
  });
});
