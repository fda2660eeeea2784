/**
 * The record finalizer's audit event: which members its data holds, and in what order (the data
 * is stored as written, so an event of a given call reads the same as before).
 */
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../events/event.js';
import type { EventWriter } from '../events/writer.js';
import type { Run } from '../runs/run.js';
import type { CallOutcome } from './pipeline.js';
import { recordFinalizer } from './record.js';
import type { ToolCall } from './stage.js';

function recorder() {
  const written: NewEvent[] = [];
  const events = {
    write: async (event: NewEvent) => {
      written.push(event);
    },
  } as unknown as EventWriter;
  return { written, finalizer: recordFinalizer({ events, now: () => 1_010 }) };
}

function call(extra: Partial<ToolCall>): ToolCall {
  return {
    run: { id: 'run_1' } as Run,
    profile: {} as ToolCall['profile'],
    profileName: 'p',
    name: 'u__t',
    rawArgs: { a: 1 },
    signal: new AbortController().signal,
    startedAt: 1_000,
    flags: [],
    ...extra,
  };
}

describe('record finalizer', () => {
  it('writes an allowed call with every optional member, in the audit trail order', async () => {
    const { written, finalizer } = recorder();
    const result = { content: [{ type: 'text' as const, text: 'ok' }] };
    const flow = { action: 'approve' as const, reasons: [], recognised: [] };
    const outcome: CallOutcome = { decision: 'allow', result };
    await finalizer.run(
      call({ args: { a: 1 }, upstreamMs: 2.00049, result, flags: ['truncated'], approvalId: 'ap_1', flow }),
      outcome,
    );
    expect(Object.keys(written[0]?.data ?? {})).toEqual([
      'arguments',
      'upstreamMs',
      'totalMs',
      'resultBytes',
      'isError',
      'result',
      'flags',
      'approvalId',
      'flow',
    ]);
    expect(written[0]?.data).toMatchObject({
      upstreamMs: 2,
      totalMs: 10,
      isError: false,
      result: result.content,
    });
  });

  it('writes a denial with its message and detail, and no result members', async () => {
    const { written, finalizer } = recorder();
    const denial = { code: 'invalid_arguments' as const, message: 'no', detail: { pointer: '/a' } };
    await finalizer.run(call({}), { decision: 'deny', denial, result: { content: [] } });
    expect(written[0]?.data).toEqual({
      arguments: { a: 1 },
      message: 'no',
      detail: { pointer: '/a' },
      totalMs: 10,
    });
    expect(Object.keys(written[0]?.data ?? {})).toEqual(['arguments', 'message', 'detail', 'totalMs']);
    expect(written[0]).toMatchObject({ decision: 'deny', code: 'invalid_arguments', actor: 'run:run_1' });
  });
});
