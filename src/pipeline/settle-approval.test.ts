/**
 * What a claimed approval becomes after its call, with a real approval
 * service on a SQLite file.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { openRunService } from '../../test/helpers/run-service.js';
import { ApprovalService } from '../approvals/service.js';
import { type DenialCode, denial } from '../errors.js';
import type { SqliteStore } from '../store/sqlite/index.js';
import type { CallOutcome } from './pipeline.js';
import { settleApprovalFinalizer } from './settle-approval.js';
import type { ToolCall } from './stage.js';

let store: SqliteStore;
let opened: ReturnType<typeof openRunService> | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

async function executing() {
  opened = openRunService();
  const { events, runs, scrubber } = opened;
  store = opened.store;
  const approvals = new ApprovalService({
    store,
    events,
    notifier: { send: () => undefined, drain: async () => undefined },
    runs,
    now: Date.now,
    linkFor: (id) => id,
    scrubber,
  });
  const where = { runId: 'run_x', tool: 'orders__refund_order', argsHash: 'h' };
  await store.approvals.create({
    id: 'apr_s',
    ...where,
    toolClass: 'irreversible',
    arguments: {},
    why: 'test',
    quorum: 1,
    approvers: ['approver'],
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
  });
  await store.approvals.vote('apr_s', { operator: 'alice', decision: 'approve', reason: null, at: 0 });
  await store.approvals.transition('apr_s', ['approved'], 'executing', where);
  return settleApprovalFinalizer({ approvals });
}

const ok: CallToolResult = { content: [{ type: 'text', text: 'done' }] };
const failed: CallToolResult = { content: [{ type: 'text', text: 'no' }], isError: true };

function call(extra: Partial<ToolCall>): ToolCall {
  return { approvalId: 'apr_s', flags: [], ...extra } as ToolCall;
}
const allow = (result: CallToolResult): CallOutcome => ({ decision: 'allow', result });
const refuse = (code: DenialCode): CallOutcome => ({
  decision: 'deny',
  denial: denial(code, 'x'),
  result: failed,
});
const state = async () => (await store.approvals.get('apr_s'))?.state;

describe('settleApprovalFinalizer', () => {
  it('settles executed when the upstream answered without error', async () => {
    const settle = await executing();
    await settle.run(call({ upstreamMs: 3, result: ok }), allow(ok));
    expect(await state()).toBe('executed');
  });

  it('settles executed when the upstream ran it, even if inspection then refused the output', async () => {
    const settle = await executing();
    await settle.run(call({ upstreamMs: 3, result: ok }), refuse('internal_error'));
    expect(await state()).toBe('executed');
  });

  it('settles failed when the upstream answered with an error', async () => {
    const settle = await executing();
    await settle.run(call({ upstreamMs: 3, result: failed }), allow(failed));
    expect(await state()).toBe('failed');
  });

  it('settles outcome_unknown when the call was cut off after it was sent', async () => {
    const settle = await executing();
    await settle.run(call({ upstreamMs: 30_000 }), refuse('upstream_timeout'));
    expect(await state()).toBe('outcome_unknown');
  });

  it('settles failed when the upstream was down and never called', async () => {
    const settle = await executing();
    await settle.run(call({ upstreamMs: 0 }), refuse('upstream_unavailable'));
    expect(await state()).toBe('failed');
  });

  it('leaves the approval alone when this call never reached the upstream (a claim race loser)', async () => {
    const settle = await executing();
    await settle.run(call({}), refuse('approval_denied'));
    expect(await state()).toBe('executing');
  });

  it('settles a call another replica marked outcome_unknown at its start-up once the call ends', async () => {
    const settle = await executing();
    const [orphan] = await store.approvals.orphanedExecuting();
    await store.events.appendMarking(
      { kind: 'approval.executed', code: 'outcome_unknown', data: {} },
      orphan?.id ?? '',
    );
    await settle.run(call({ upstreamMs: 3, result: ok }), allow(ok));
    expect(await state()).toBe('executed');
  });
});
