/**
 * A run service on a real SQLite file with a one-profile policy (`agent`, no
 * tools), for unit tests of what sits on top of runs: approvals, pipeline
 * stages, the run service itself. Closed by `close()` (call it in afterEach).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventWriter } from '../../src/events/writer.js';
import { parsePolicy } from '../../src/policy/load.js';
import { RunService, type RunServiceOptions } from '../../src/runs/service.js';
import { createScrubber } from '../../src/scrub/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

export const ONE_PROFILE_POLICY = parsePolicy(
  `version: 1\nstore: { sqlite: ':memory:' }\nupstreams: {}\nprofiles:\n  agent:\n    tools: []\n`,
);

export function openRunService(
  options: Partial<Pick<RunServiceOptions, 'now' | 'logger' | 'forgetSweepMs'>> = {},
) {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'bulkhead-unit-')), 'b.db'));
  const scrubber = createScrubber();
  const events = new EventWriter(store.events, scrubber);
  const policy = ONE_PROFILE_POLICY;
  const runs = new RunService({ store, policy, events, scrubber, ...options });
  return {
    store,
    scrubber,
    events,
    policy,
    runs,
    close: async () => {
      runs.close();
      await store.close();
    },
  };
}
