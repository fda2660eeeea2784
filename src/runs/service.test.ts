/**
 * The run service's background work when the store fails under it: a run's
 * wall clock is enforced by ending the run, so an end that cannot be recorded
 * is tried again (a jailed agent that makes no calls would otherwise run on),
 * and the failure is reported, not swallowed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventWriter } from '../events/writer.js';
import { parsePolicy } from '../policy/load.js';
import { createScrubber } from '../scrub/index.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { RunService } from './service.js';

const policy = parsePolicy(
  `version: 1\nstore: { sqlite: ':memory:' }\nupstreams: {}\nprofiles:\n  agent:\n    tools: []\n`,
);

let store: SqliteStore;
let runs: RunService;
afterEach(async () => {
  runs?.close();
  await store?.close();
});

function setup() {
  store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'bulkhead-runs-')), 'b.db'));
  const scrubber = createScrubber();
  const logger = { warn: vi.fn(), error: vi.fn() };
  runs = new RunService({ store, policy, events: new EventWriter(store.events, scrubber), scrubber, logger });
  return logger;
}

describe('RunService wall clock', () => {
  it('ends an expired run once the store takes the end, after refusing the first attempt', async () => {
    const logger = setup();
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
