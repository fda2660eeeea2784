/**
 * The run service's background work when the store fails under it: a run's
 * wall clock is enforced by ending the run, so an end that cannot be recorded
 * is tried again (a jailed agent that makes no calls would otherwise run on),
 * and the failure is reported, not swallowed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openRunService } from '../../test/helpers/run-service.js';

let opened: ReturnType<typeof openRunService> | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

describe('RunService wall clock', () => {
  it('ends an expired run once the store takes the end, after refusing the first attempt', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() };
    opened = openRunService({ logger });
    const { store, runs } = opened;
    const end = store.runs.end.bind(store.runs);
    let refused = 0;
    vi.spyOn(store.runs, 'end').mockImplementation(async (...args) => {
      if (refused++ === 0) throw new Error('database is locked');
      return end(...args);
    });
    const { run } = await runs.create('agent', { ttlMs: 50 });

    await vi.waitFor(async () => expect((await store.runs.get(run.id))?.state).toBe('expired'), {
      timeout: 5_000,
      interval: 50,
    });
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ runId: run.id }),
      'could not end an expired run; retrying',
    );
  });
});
