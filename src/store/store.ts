/**
 * The Store: everything bulkhead must not lose (runs, audit events, and the
 * areas that grow on it: approvals, budget counters, tool pins).
 *
 * Each method is one atomic operation. Where a check and a write must not be
 * separated (a budget reservation, an approval decided once), the method does
 * both in one transaction, so it maps to a single conditional UPDATE on
 * PostgreSQL and stays correct across replicas. The pipeline depends only on
 * this interface, never on a driver.
 */
import type { ApprovalStore } from '../approvals/approval.js';
import type { CallBudgetStore } from '../budget/calls.js';
import type { TokenBudgetStore } from '../budget/tokens.js';
import type { AuditEvent, EventFilter, NewEvent } from '../events/event.js';
import type { EventStats } from '../events/stats.js';
import type { CredentialStore } from '../runs/credentials.js';
import type { DataClass, Run, RunState, ValueFingerprint } from '../runs/run.js';

export interface NewRun {
  id: string;
  profile: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  label?: string | null;
}

export interface RunStore {
  create(run: NewRun): Promise<Run>;
  get(id: string): Promise<Run | undefined>;
  byTokenHash(tokenHash: string): Promise<Run | undefined>;
  list(filter?: { state?: RunState; limit?: number }): Promise<Run[]>;
  /**
   * Moves an active run to a final state. Returns the run if this call ended
   * it, undefined if it was already ended (so "ended once" is decided here).
   */
  end(
    id: string,
    state: Exclude<RunState, 'active'>,
    reason: string,
    exitCode?: number | null,
  ): Promise<Run | undefined>;
  /** Marks the run as having read untrusted content from `source`. Idempotent. */
  taint(id: string, source: string): Promise<Run | undefined>;
  /** Records that the run read `dataClass` data from `source`. Idempotent. */
  markRead(id: string, dataClass: DataClass, source: string): Promise<Run | undefined>;
  /** Keeps fingerprints of values the run received from a private source; at most `cap` per run. */
  addFingerprints(id: string, values: readonly ValueFingerprint[], cap: number): Promise<void>;
  /** The fingerprints kept for a run. */
  fingerprints(id: string): Promise<ValueFingerprint[]>;
}

export interface EventStore {
  append(event: NewEvent): Promise<AuditEvent>;
  /**
   * Appends several events in one transaction (group commit), in order; all
   * are durable when it resolves. Optional: a store without it gets one
   * `append` per event.
   */
  appendMany?(events: NewEvent[]): Promise<AuditEvent[]>;
  list(filter?: EventFilter): Promise<AuditEvent[]>;
  count(filter?: EventFilter): Promise<number>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly runs: RunStore;
  readonly events: EventStore;
  /** Aggregates over the audit log for the dashboard and CLI. */
  readonly stats: EventStats;
  readonly calls: CallBudgetStore;
  readonly approvals: ApprovalStore;
  readonly tokens: TokenBudgetStore;
  /** OAuth clients, run grants, codes and access tokens (the gateway's authorization server). */
  readonly credentials: CredentialStore;
  close(): Promise<void>;
}
