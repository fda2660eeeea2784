/**
 * When the lease's reconciliation sweeps for lost budget alerts (alert-sweep.ts): after it
 * retired a dead replica, until one sweep succeeds, and never two at once.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalService } from '../approvals/service.js';
import { EventWriter } from '../events/writer.js';
import { createScrubber } from '../scrub/index.js';
import { nodeKey } from '../store/replica-id.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { ReplicaLease } from './lease.js';

/** A pid no process has: the kernel's limit is far below it. */
const DEAD_PID = 2 ** 30;

const opened: SqliteStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function lease(alerts: () => Promise<number>): { lease: ReplicaLease; store: SqliteStore } {
  const store = openSqliteStore(':memory:');
  opened.push(store);
  const events = new EventWriter(store.events, createScrubber());
  // Approvals have nothing to recover here; only the sweep is under test.
  const approvals = { recoverOrphaned: async () => [] } as unknown as ApprovalService;
  return {
    lease: new ReplicaLease({ store, events, approvals, logger: pino({ level: 'silent' }), alerts }),
    store,
  };
}

const deadReplica = (store: SqliteStore, id: string) =>
  store.replicas.register({ id, node: nodeKey(), pid: DEAD_PID });

describe("the lease's alert sweep", () => {
  it('sweeps only after it retired a replica', async () => {
    let sweeps = 0;
    const { lease: l, store } = lease(async () => {
      sweeps++;
      return 0;
    });
    await l.start();
    expect(sweeps).toBe(0);
    await deadReplica(store, 'dead-1');
    await l.reconcile();
    expect(sweeps).toBe(1);
    await l.reconcile();
    expect(sweeps).toBe(1);
    await l.stop();
  });

  it('sweeps again at the next reconciliation when a sweep failed', async () => {
    let sweeps = 0;
    const { lease: l, store } = lease(async () => {
      sweeps++;
      if (sweeps === 1) throw new Error('store unreachable');
      return 0;
    });
    await l.start();
    await deadReplica(store, 'dead-2');
    await expect(l.reconcile()).rejects.toThrow('store unreachable');
    await l.reconcile();
    await l.reconcile();
    expect(sweeps).toBe(2);
    await l.stop();
  });

  it('runs no second sweep while one is under way', async () => {
    let sweeps = 0;
    let finish: () => void = () => undefined;
    const { lease: l, store } = lease(async () => {
      sweeps++;
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      return 0;
    });
    await l.start();
    await deadReplica(store, 'dead-3');
    const first = l.reconcile();
    await new Promise((r) => setTimeout(r, 20));
    await l.reconcile();
    expect(sweeps).toBe(1);
    finish();
    await first;
    await l.stop();
  });
});
