/**
 * The loop guard's window on its own: how many distinct calls a run's window
 * keeps, which it forgets first, and the key it files a call under.
 */
import { describe, expect, it } from 'vitest';
import type { CatalogTool } from '../gateway/catalog.js';
import type { Profile } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import { callKey, LoopGuard, MAX_CALLS_KEPT } from './loop-guard.js';
import type { ToolCall } from './stage.js';

const PROFILE = {
  loop_guard: { identical_calls: 2, window: 60_000, consecutive_errors: 5, action: 'refuse' },
} as unknown as Profile;
const TOOL = { exposed: 'files__read' } as CatalogTool;
const RUN = { id: 'run-1' } as Run;

/** A guard whose clock stands still (every call within one window); refusals only, no kills. */
function guard(): (args: Record<string, unknown>) => Promise<string | undefined> {
  const loopGuard = new LoopGuard({ runs: {} as RunService, now: () => 1_000_000 });
  return async (args) => {
    const call = { run: RUN, profile: PROFILE, tool: TOOL, args, flags: [] } as unknown as ToolCall;
    const result = await loopGuard.stage(call);
    return result.ok ? undefined : result.denial.code;
  };
}

async function distinct(call: ReturnType<typeof guard>, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) expect(await call({ path: `other-${i}` })).toBeUndefined();
}

describe('loop guard window', () => {
  it('counts a repeat made after MAX_CALLS_KEPT - 1 other distinct calls', async () => {
    const call = guard();
    await call({ path: 'a' });
    await call({ path: 'a' });
    await distinct(call, MAX_CALLS_KEPT - 1);
    expect(await call({ path: 'a' })).toBe('loop_detected');
  });

  it('forgets the call made longest ago once MAX_CALLS_KEPT others came after it', async () => {
    const call = guard();
    await call({ path: 'a' });
    await call({ path: 'a' });
    await distinct(call, MAX_CALLS_KEPT);
    expect(await call({ path: 'a' })).toBeUndefined();
  });

  it('keeps a call that keeps repeating while MAX_CALLS_KEPT others come after its first', async () => {
    const call = guard();
    const every = MAX_CALLS_KEPT / 2;
    await call({ path: 'a' });
    await distinct(call, every);
    await call({ path: 'a' });
    await distinct(call, every, every);
    expect(await call({ path: 'a' })).toBe('loop_detected');
  });
});

describe('callKey', () => {
  it('is the same for the same arguments in another key order', () => {
    expect(callKey('t', { a: 1, b: [2, { c: 3, d: 4 }] })).toBe(
      callKey('t', { b: [2, { d: 4, c: 3 }], a: 1 }),
    );
  });

  it('differs between tools with the same arguments', () => {
    expect(callKey('files__read', { path: 'a' })).not.toBe(callKey('files__write', { path: 'a' }));
  });

  it('differs when a tool name and arguments shift across the boundary', () => {
    expect(callKey('a', 'b')).not.toBe(callKey('a"', ''));
  });

  it('is 22 base64url characters (128 bits)', () => {
    expect(callKey('files__read', { path: 'a' })).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
