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
import type { Approval, ApprovalState, ApprovalStore, Vote, VoteOutcome } from '../approvals/approval.js';
import type { CallBudgetStore } from '../budget/calls.js';
import type { TokenAmounts, TokenBudgetStore, TokenUsage } from '../budget/tokens.js';
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
  launcher?: string | null;
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

/**
 * One event of a group commit; `closes` names the open intent it closes (see
 * `appendClosing`), `marksUnknown` the orphaned execution it records (see `appendMarking`),
 * `retires` the lapsed lease it records (see `appendRetiring`), `moves` the approval move it
 * records (see `appendMoving`), `settles` the orphaned LLM reservation it records (see
 * `appendSettling`), `alerts` the budget threshold it is the one alert of (see `appendAlerting`).
 */
export interface BatchItem {
  event: NewEvent;
  closes?: string;
  marksUnknown?: string;
  retires?: Retiring;
  moves?: ApprovalMove;
  settles?: Settling;
  alerts?: AlertKey;
}

/** One budget threshold of one run: alerted at most once, by whichever path records it first. */
export interface AlertKey {
  runId: string;
  /** `tool_calls`, or a token dimension (`input_tokens`, ..., `usd`). */
  dimension: string;
  /** The alert fraction, e.g. 0.8, as the policy's `alert_at` gives it. */
  fraction: number;
}

/**
 * An orphaned LLM token reservation to settle at what it reserved: only if it is still open
 * and still an orphan (its owner holds no lease, or it has no owner and was made before
 * `before`), as `TokenBudgetStore.orphans` found it.
 */
export interface Settling {
  id: string;
  before: number;
}

/** A live request's own reservation, settled at what the request cost (`charge`). */
export interface Settled {
  id: string;
  charge: TokenAmounts;
}

/** An approval's move from one of `from` to `to` (as `ApprovalStore.transition`, no owner change). */
export interface ApprovalMove {
  id: string;
  from: readonly ApprovalState[];
  to: ApprovalState;
  /** Decision time, kept only if the approval had none. */
  at: number;
}

/** One vote as `ApprovalStore.vote` takes it. */
export interface VoteRequest {
  id: string;
  vote: Vote;
  edited?: Record<string, unknown> | undefined;
  now: number;
  /**
   * The approval as the caller just read it, a hint: a store may predict the outcome from it
   * and write the vote in one statement that holds only if the row is still as read (else it
   * votes as without it). Stale or absent, the outcome is the same.
   */
  seen?: Approval | undefined;
}

/** A lease to delete: only if its heartbeat is older than `staleBefore` (store clock), when given. */
export interface Retiring {
  id: string;
  staleBefore?: number;
}

export interface EventStore {
  /** Appends one event to this handle's hash chain (see src/events/chain.ts). */
  append(event: NewEvent): Promise<AuditEvent>;
  /**
   * Appends `event` and deletes the open intent `intentId` in one transaction.
   * Undefined (nothing written) when the intent was already closed, e.g. by a
   * replica that reconciled it as `outcome_unknown`: so a call gets one closing event.
   */
  appendClosing(event: NewEvent, intentId: string): Promise<AuditEvent | undefined>;
  /**
   * Marks the executing approval `approvalId` `outcome_unknown` if its replica
   * holds no lease, and appends `event` in the same transaction. Undefined
   * (nothing written) when it was not marked: another replica marked it first,
   * or its call finished. So a crash never leaves the mark without its event,
   * and replicas reconciling at once write the event once.
   */
  appendMarking(event: NewEvent, approvalId: string): Promise<AuditEvent | undefined>;
  /**
   * Deletes a lapsed or dead replica's lease (as `ReplicaStore.retire`) and appends `event`
   * in the same transaction; undefined (nothing written) when this call did not delete it.
   */
  appendRetiring(event: NewEvent, lease: Retiring): Promise<AuditEvent | undefined>;
  /**
   * Moves an approval (withdrawn, timed out, executed, failed) and appends the event recording
   * it in one transaction; undefined (nothing written) when this call did not move it.
   */
  appendMoving(event: NewEvent, move: ApprovalMove): Promise<AuditEvent | undefined>;
  /**
   * Settles an orphaned LLM reservation at what it reserved (deleted, charged to its run's
   * usage) and appends the `llm.request` event recording it, in one transaction; undefined
   * (nothing written, nothing charged) when this call did not settle it: it was settled
   * already, or its owner holds a lease again. So a crash never leaves the charge without
   * its event, and replicas reconciling at once write the event once.
   */
  appendSettling(event: NewEvent, reservation: Settling): Promise<AuditEvent | undefined>;
  /**
   * Settles a request's own open reservation at what it cost (as `TokenBudgetStore.settle`)
   * and appends its `llm.request` event, in one transaction; resolves the event and the run's
   * usage after it. Undefined (nothing written, nothing charged) when it was no longer open:
   * a replica that thought this one dead settled it at what it reserved. So a crash never
   * leaves a request charged without its event.
   */
  appendSettled(
    event: NewEvent,
    settled: Settled,
  ): Promise<{ event: AuditEvent; usage: TokenUsage } | undefined>;
  /**
   * Appends a `budget.alert` event only if its threshold (`key`) was not alerted for the run
   * before, recording it in the same transaction; undefined (nothing written) when it was. So
   * the live path, a replica settling a dead one's leftovers and the sweep after a crash
   * (src/budget/alert-sweep.ts) alert each threshold once between them.
   */
  appendAlerting(event: NewEvent, key: AlertKey): Promise<AuditEvent | undefined>;
  /**
   * Counts one operator's vote (as `ApprovalStore.vote`) and, when it was counted, appends the
   * event `eventFor` makes of the outcome, in the same transaction: a vote is never decided
   * without its event, so a crash or a lock between them cannot lose the decision's record.
   */
  appendVote(
    vote: VoteRequest,
    eventFor: (approval: Approval) => NewEvent,
  ): Promise<{ outcome: VoteOutcome; event?: AuditEvent }>;
  /**
   * Group commit of plain events and closing ones together, in order, in one
   * transaction: an item with `closes` deletes that open intent and is
   * appended only if it was still open (else undefined in its slot, as with
   * `appendClosing`). All are durable when it resolves. Optional: a store
   * without it gets one `append` or `appendClosing` per event.
   */
  appendBatch?(items: readonly BatchItem[]): Promise<(AuditEvent | undefined)[]>;
  list(filter?: EventFilter): Promise<AuditEvent[]>;
  count(filter?: EventFilter): Promise<number>;
  /** Every writer that has chained events, for verification. */
  writers(): Promise<string[]>;
  /** One writer's chained events in chain order (seq ascending), after `afterSeq`. */
  chain(writer: string, afterSeq: number, limit: number): Promise<AuditEvent[]>;
  /** The last link of every writer's chain. */
  heads(): Promise<ChainHeadRow[]>;
  /** How many events carry no chain (written before chaining existed). */
  unchained(): Promise<number>;
}

export interface ChainHeadRow {
  writer: string;
  seq: number;
  hash: string;
}

/** One gateway process (replica) holding a lease on the store. */
export interface ReplicaRow {
  id: string;
  /** host|boot|pid-namespace: where `pid` means something. */
  node: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
}

/**
 * Replica leases: each gateway registers, heartbeats, and retires on a clean
 * stop. Times are the store's clock (PostgreSQL `clock_timestamp()`), so
 * replicas with skewed clocks agree on who lapsed.
 */
export interface ReplicaStore {
  register(row: Omit<ReplicaRow, 'startedAt' | 'heartbeatAt'>): Promise<void>;
  /** False when the row is gone: another replica declared this one dead. */
  heartbeat(id: string): Promise<boolean>;
  list(): Promise<{ now: number; replicas: ReplicaRow[] }>;
  /** Deletes the lease if it is still older than `staleBefore` (store clock); true when this call did. */
  retire(id: string, staleBefore?: number): Promise<boolean>;
}

/** A tools/call about to be forwarded: durable before the upstream sees it. */
export interface Intent {
  id: string;
  /** The replica forwarding it. */
  owner: string;
  runId: string;
  tool: string;
  argsHash: string;
  /** Scrubbed and bounded, for the reconciliation event. */
  arguments: unknown;
  approvalId: string | null;
  startedAt: number;
}

export interface IntentStore {
  /**
   * Opens the intent, only if its run is not killed or expired (read in the same statement, so a
   * kill committed first, also by a replica that died before telling anyone, leaves nothing to
   * forward): false when it is, and nothing was opened.
   */
  open(intent: Intent): Promise<boolean>;
  /** Open intents whose owner holds no lease: left by a replica that died. */
  orphans(limit?: number): Promise<Intent[]>;
  /** Open intents of one run (diagnostics, and earlier identical calls for approvers). */
  list(filter?: { runId?: string; owner?: string }): Promise<Intent[]>;
}

/** A signed-in dashboard session, keyed by the SHA-256 of its id (see src/dashboard/sessions.ts). */
export interface StoredSession {
  hash: string;
  operator: string;
  csrf: string;
  createdAt: number;
  lastSeen: number;
  expiresAt: number;
}

export interface SessionStore {
  put(session: StoredSession): Promise<void>;
  get(hash: string): Promise<StoredSession | undefined>;
  touch(hash: string, lastSeen: number): Promise<void>;
  delete(hash: string): Promise<void>;
}

/** A notice kept until it is delivered to one notifier target (src/notify/notifier.ts). */
export interface OutboxNotice {
  id: string;
  /** The replica delivering it: a notice whose owner holds no lease is another's to deliver. */
  owner: string;
  /** The notifier's name in the policy. */
  target: string;
  /** The notice as it leaves, scrubbed (JSON). */
  body: string;
  createdAt: number;
  /** Rounds of attempts that found no receiver so far (`NoticeOutbox.defer`). */
  rounds: number;
}

/**
 * Notices on their way out. A notice is kept from before its first attempt until it was
 * delivered or given up, so one a crash cut short is delivered by the next replica.
 */
export interface NoticeOutbox {
  put(notice: Omit<OutboxNotice, 'rounds'>): Promise<void>;
  remove(id: string): Promise<void>;
  /** Takes for `owner` up to `limit` notices, oldest first, whose owner holds no lease. */
  adoptOrphans(owner: string, limit: number): Promise<OutboxNotice[]>;
  /** Keeps a notice a round of attempts could not deliver, for another round from `retryAt`. */
  defer(id: string, retryAt: number): Promise<void>;
  /** Takes for another round up to `limit` of `owner`'s deferred notices due by `now`, oldest first. */
  takeDue(owner: string, now: number, limit: number): Promise<OutboxNotice[]>;
}

/**
 * What every replica must hear at once: an approval decided, a run ended ("look again"). An
 * approval's signal may say the state its decider wrote, a hint for which query to issue first:
 * receivers re-read or claim, and the store decides.
 */
export type Signal = { topic: 'approval'; id: string; state?: ApprovalState } | { topic: 'run'; id: string };

export interface SignalBus {
  publish(signal: Signal): Promise<void>;
  subscribe(listener: (signal: Signal) => void): () => void;
  /** True while signals from other replicas arrive by push; polling is then only a fallback. */
  live(): boolean;
}

export type StoreHealth = { ok: true; ms: number } | { ok: false; ms: number; code: string; message: string };

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
  readonly replicas: ReplicaStore;
  readonly intents: IntentStore;
  readonly sessions: SessionStore;
  readonly notices: NoticeOutbox;
  readonly signals: SignalBus;
  /**
   * This handle's identity: the chain writer of its events and the owner of
   * the work it claims (intents, executing approvals). One per gateway process.
   */
  readonly replica: string;
  /**
   * The run as this handle last read it, from memory, without asking the store whether anything
   * changed since: it may be stale, and is only for checks a reservation then confirms
   * (`TokenBudgetStore.reserve`'s `checked`). SQLite only: the LLM proxy's path to the first
   * byte reads the run once, in the reservation's transaction.
   */
  rememberedRun?(id: string): Run | undefined;
  /** A bounded probe: can the store take a write now? Never blocks the event loop. */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
