/**
 * The one writer of audit events. Every event is scrubbed here, before the
 * store sees it, and then published to live subscribers (dashboard, SSE), so
 * no path can store or show an unscrubbed event.
 *
 * Group commit: events written in the same turn of the event loop (the
 * records of concurrent calls, each closing its call's intent) are stored in
 * one transaction when the store can, since the commit is most of an
 * append's cost. Each write still resolves only once its event is committed,
 * so "durable before the answer leaves" holds for every call; a failed commit
 * rejects every write in it.
 */

import type { Approval, VoteOutcome } from '../approvals/approval.js';
import type { TokenUsage } from '../budget/tokens.js';
import type { Scrubber } from '../scrub/index.js';
import type {
  AlertKey,
  ApprovalMove,
  BatchItem,
  EventStore,
  Retiring,
  Settled,
  Settling,
  VoteRequest,
} from '../store/store.js';
import type { AuditEvent, NewEvent } from './event.js';

export type EventListener = (event: AuditEvent) => void;

interface Pending {
  item: BatchItem;
  resolve: (stored: AuditEvent | undefined) => void;
  reject: (error: unknown) => void;
}

type Gate = Omit<BatchItem, 'event'>;
const NO_GATE: Gate = {};

/**
 * Every key set, in one order, absent gates undefined: one hidden class for every item. Not
 * `{ ...item, more }`: once optimised, Node 20's V8 gives each such object a map of its own, and
 * every read of it in the flush and the store then misses V8's caches.
 */
function batchItem(event: NewEvent, gate: Gate): BatchItem {
  return {
    event,
    closes: gate.closes,
    marksUnknown: gate.marksUnknown,
    retires: gate.retires,
    moves: gate.moves,
    settles: gate.settles,
    alerts: gate.alerts,
  };
}

/** A batch larger than this is split: one transaction should not hold the write lock for long. */
const MAX_BATCH = 256;

export class EventWriter {
  private readonly listeners = new Set<EventListener>();
  private queue: Pending[] = [];
  private scheduled = false;
  /** The flush under way, if any: `drain()` waits for it. */
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly scrubber: Scrubber,
  ) {}

  /** Durable when the promise resolves: callers await it before answering the agent. */
  async write(event: NewEvent): Promise<AuditEvent> {
    const scrubbed = this.scrub(event);
    const stored = this.grouped ? await this.queued(scrubbed, NO_GATE) : await this.store.append(scrubbed);
    if (!stored) throw new Error('the store did not return the appended event');
    this.publish(stored);
    return stored;
  }

  /**
   * Writes the event that closes an open intent (src/pipeline/intent.ts), in one transaction
   * with closing it. Undefined when the intent was already closed (reconciled elsewhere).
   */
  writeClosing(event: NewEvent, intentId: string): Promise<AuditEvent | undefined> {
    return this.gated(event, { closes: intentId }, (e) => this.store.appendClosing(e, intentId));
  }

  /**
   * Writes the event recording that an orphaned execution's outcome is unknown, in one
   * transaction with marking its approval so (src/approvals/service.ts). Undefined when it
   * was not marked (another replica did, or its call finished).
   */
  writeMarking(event: NewEvent, approvalId: string): Promise<AuditEvent | undefined> {
    return this.gated(event, { marksUnknown: approvalId }, (e) => this.store.appendMarking(e, approvalId));
  }

  /**
   * Writes the event recording that a lapsed or dead replica was retired, in one transaction
   * with deleting its lease (src/replicas/lease.ts). Undefined when another replica did.
   */
  writeRetiring(event: NewEvent, lease: Retiring): Promise<AuditEvent | undefined> {
    return this.gated(event, { retires: lease }, (e) => this.store.appendRetiring(e, lease));
  }

  /**
   * Writes the event recording an approval's move (withdrawn, timed out, executed, failed) in
   * one transaction with the move. Undefined when it did not move (another caller moved it).
   */
  writeMoving(event: NewEvent, move: ApprovalMove): Promise<AuditEvent | undefined> {
    return this.gated(event, { moves: move }, (e) => this.store.appendMoving(e, move));
  }

  /**
   * Writes the `llm.request` event recording that an orphaned token reservation was settled at
   * what it reserved, in one transaction with settling it (src/llm/reconcile.ts). Undefined
   * when it was not settled (another replica did, or its owner holds a lease again).
   */
  writeSettling(event: NewEvent, reservation: Settling): Promise<AuditEvent | undefined> {
    return this.gated(event, { settles: reservation }, (e) => this.store.appendSettling(e, reservation));
  }

  /**
   * Writes a `budget.alert` event unless its threshold was alerted for the run already, in one
   * transaction with recording it (`EventStore.appendAlerting`). Undefined when it was.
   */
  writeAlert(event: NewEvent, key: AlertKey): Promise<AuditEvent | undefined> {
    return this.gated(event, { alerts: key }, (e) => this.store.appendAlerting(e, key));
  }

  /**
   * Writes a live LLM request's `llm.request` event in one transaction with settling its
   * reservation at what it cost (src/llm/settlement.ts); with the run's usage after. Undefined
   * when the reservation was no longer open (a replica that thought this one dead settled it).
   */
  async writeSettled(
    event: NewEvent,
    s: Settled,
  ): Promise<{ event: AuditEvent; usage: TokenUsage } | undefined> {
    const done = await this.store.appendSettled(this.scrub(event), s);
    if (done) this.publish(done.event);
    return done;
  }

  /**
   * Counts a vote and writes its `approval.decided` event (made by `eventFor` from the
   * outcome, then scrubbed) in one transaction (`EventStore.appendVote`).
   */
  async writeVote(request: VoteRequest, eventFor: (approval: Approval) => NewEvent): Promise<VoteOutcome> {
    const { outcome, event } = await this.store.appendVote(request, (a) => this.scrub(eventFor(a)));
    if (event) this.publish(event);
    return outcome;
  }

  /**
   * Writes `event` only if the store makes the write `gate` names, in one transaction with it
   * (in a group commit when the store has them, else by `direct`).
   */
  private async gated(
    event: NewEvent,
    gate: Gate,
    direct: (scrubbed: NewEvent) => Promise<AuditEvent | undefined>,
  ): Promise<AuditEvent | undefined> {
    const scrubbed = this.scrub(event);
    const stored = this.grouped ? await this.queued(scrubbed, gate) : await direct(scrubbed);
    if (stored) this.publish(stored);
    return stored;
  }

  private scrub(event: NewEvent): NewEvent {
    return {
      ...event,
      ...(event.code ? { code: this.scrubber.text(event.code) } : {}),
      ...(event.tool ? { tool: this.scrubber.text(event.tool) } : {}),
      data: this.scrubber.value(event.data),
    };
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private publish(stored: AuditEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(stored);
      } catch {
        // A broken subscriber must not fail the write that every decision depends on.
      }
    }
  }

  /** Whether the store commits groups (`appendBatch`). */
  private get grouped(): boolean {
    return this.store.appendBatch !== undefined;
  }

  private queued(event: NewEvent, gate: Gate): Promise<AuditEvent | undefined> {
    const item = batchItem(event, gate);
    return new Promise((resolve, reject) => this.enqueue({ item, resolve, reject }));
  }

  private enqueue(pending: Pending): void {
    this.queue.push(pending);
    if (this.scheduled) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn: the records of calls answered together commit together.
    setImmediate(() => {
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  /**
   * Resolves once every event written so far is committed (or its write has failed): a
   * store must not close under queued events, which would reject writes nobody awaits any more.
   */
  async drain(): Promise<void> {
    while (this.scheduled || this.flushing) {
      if (this.flushing) await this.flushing;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        const stored = await (this.store.appendBatch as NonNullable<EventStore['appendBatch']>)(
          batch.map((p) => p.item),
        );
        if (stored.length !== batch.length) throw new Error('the store did not answer every event');
        // An undefined slot is a closing whose intent was already closed: nothing was written.
        batch.forEach((p, i) => {
          p.resolve(stored[i]);
        });
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  }
}
