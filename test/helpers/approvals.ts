/**
 * Approvals as the data-flow tests meet them: wait for a run's held call, then deny it; and an
 * approval service on a bare store, for the store and replica tests.
 */
import type { Approval } from '../../src/approvals/approval.js';
import { ApprovalService } from '../../src/approvals/service.js';
import { EventWriter } from '../../src/events/writer.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { parsePolicy } from '../../src/policy/load.js';
import { RunService } from '../../src/runs/service.js';
import { createScrubber } from '../../src/scrub/index.js';
import type { Store } from '../../src/store/store.js';

/**
 * The approval service and run service one gateway would build on `store`, for an `agent`
 * profile with no tools, notifying nobody. `seenBy` is the store the approval service reads
 * through (a test may wrap it); `pollMs` sets every store poll and watch (default: the services').
 */
export function approvalServices(store: Store, options: { seenBy?: Store; pollMs?: number } = {}) {
  const scrubber = createScrubber({ secrets: [] });
  const events = new EventWriter(store.events, scrubber);
  const policy = parsePolicy(
    `version: 1\nstore: { sqlite: ':memory:' }\nupstreams: {}\nprofiles:\n  agent:\n    tools: []\n`,
  );
  const every = options.pollMs;
  const runs = new RunService({
    store,
    policy,
    events,
    scrubber,
    now: Date.now,
    ...(every === undefined ? {} : { fallbackWatchMs: every, watchMs: every }),
  });
  const service = new ApprovalService({
    store: options.seenBy ?? store,
    events,
    notifier: { send: () => undefined, drain: async () => undefined },
    runs,
    now: Date.now,
    linkFor: (id) => `http://127.0.0.1/ui/approvals/${id}`,
    scrubber,
    ...(every === undefined ? {} : { pollMs: every, fallbackPollMs: every }),
  });
  return { service, runs, events };
}

/** The run's pending approval, once its held call has been persisted (10 s at most). */
export async function pendingFor(gateway: Gateway, runId: string): Promise<Approval> {
  for (let i = 0; i < 400; i++) {
    const [approval] = (await gateway.store.approvals.list({ state: 'pending' })).filter(
      (a) => a.runId === runId,
    );
    if (approval) return approval;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no pending approval appeared');
}

/** Denies an approval as the local operator. */
export async function denyApproval(gateway: Gateway, approval: Approval): Promise<void> {
  await gateway.approvals.decide(approval.id, {
    operator: 'local',
    decision: 'deny',
    reason: 'not this',
    at: Date.now(),
  });
}
