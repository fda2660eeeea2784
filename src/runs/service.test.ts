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

describe('RunService minted secrets', () => {
  it('lets the scrubber forget a run token once the run ends here', async () => {
    opened = openRunService();
    const { runs, scrubber } = opened;
    const { run } = await runs.create('agent');
    expect(scrubber.heldForms()).toBeGreaterThan(0);

    await runs.end(run.id, 'completed', 'agent exited');

    expect(scrubber.heldForms()).toBe(0);
  });

  it('forgets a run grant together with its run token', async () => {
    opened = openRunService();
    const { runs, scrubber } = opened;
    const { run } = await runs.create('agent');
    const tokenOnly = scrubber.heldForms();
    await runs.mintGrant(run.id);
    expect(scrubber.heldForms()).toBeGreaterThan(tokenOnly);

    await runs.end(run.id, 'killed', 'operator');

    expect(scrubber.heldForms()).toBe(0);
  });

  it('keeps the tokens of active runs while another run ends', async () => {
    opened = openRunService();
    const { runs, scrubber } = opened;
    const { run: ending } = await runs.create('agent');
    const one = scrubber.heldForms();
    await runs.create('agent');

    await runs.end(ending.id, 'completed', 'done');

    expect(scrubber.heldForms()).toBe(one);
  });

  it('forgets the token of a run another replica ended, at its sweep', async () => {
    opened = openRunService({ forgetSweepMs: 50 });
    const { runs, scrubber, store } = opened;
    const { run } = await runs.create('agent');
    await runs.create('agent');
    const held = scrubber.heldForms();

    // Ended in the store behind this service's back, as a replica sharing the store does.
    await store.runs.end(run.id, 'killed', 'on the other replica', null);

    await vi.waitFor(() => expect(scrubber.heldForms()).toBeLessThan(held), { timeout: 3_000, interval: 20 });
    expect(scrubber.heldForms()).toBeGreaterThan(0);
  });

  it('forgets a token the store refused to record a run for', async () => {
    opened = openRunService();
    const { runs, scrubber, store } = opened;
    vi.spyOn(store.runs, 'create').mockRejectedValueOnce(new Error('database is locked'));

    await expect(runs.create('agent')).rejects.toThrow('database is locked');

    expect(scrubber.heldForms()).toBe(0);
  });
});
