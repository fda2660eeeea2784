/**
 * Replicas own their work. Each gateway holds a lease in the store (its
 * replica id, node, pid, heartbeat). Every heartbeat it also reconciles: a
 * replica whose lease lapsed (no heartbeat for `leaseMs`), or whose process
 * is certainly gone (same node, pid not alive), is retired, and every piece
 * of work without a live owner is closed as `outcome_unknown`:
 *   - an open intent (a tools/call forwarded, never recorded) → a `tools/call`
 *     event with code `outcome_unknown`, in one transaction with closing it;
 *   - an executing approval → `outcome_unknown` and an `approval.executed` event;
 *   - an open LLM token reservation → settled at what it reserved, with an
 *     `llm.request` event with code `outcome_unknown` (src/llm/reconcile.ts);
 *   - a budget alert its charge reached but the dead replica never wrote → raised
 *     by a sweep of the active runs after each retirement (alert-sweep.ts).
 * A live replica's work is never touched: ownership is decided in the store,
 * in one statement, against the lease table. Retiring, closing and marking
 * are conditional, so replicas reconciling at once write each event once.
 */
import type { ApprovalService } from '../approvals/service.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import { nodeKey, pidAlive } from '../store/replica-id.js';
import type { Store } from '../store/store.js';
import { faultPoint } from './fault-point.js';
import type { StoreClock } from './store-clock.js';

export interface LeaseOptions {
  /** A replica silent this long is presumed dead. */
  leaseMs?: number;
  /** Heartbeat and reconciliation interval. */
  heartbeatMs?: number;
}

export const DEFAULT_LEASE_MS = 5_000;
export const DEFAULT_HEARTBEAT_MS = 1_000;

/**
 * Fencing for work this replica may no longer own. Another replica marks our open intents and
 * executing approvals `outcome_unknown` once our heartbeat is older than its lease; a process
 * that was only paused (SIGSTOP, a VM freeze, a long GC) or stalled on its store must then not
 * forward them when it continues. `holds` is true only while no other replica can have taken our
 * work: the lease was not lost since `epoch()` was read, and either our last heartbeat (timed
 * from when it was sent, so never younger than the store's record of it) is recent by a margin
 * of one beat, or, when it is not, a heartbeat made now still finds our lease row: another
 * replica retires a lease only if its heartbeat is stale, so none has taken our work.
 */
export interface LeaseFence {
  epoch(): number;
  holds(epoch: number): Promise<boolean>;
}

export interface ReconcileReport {
  retired: string[];
  intents: number;
  approvals: number;
}

export class ReplicaLease implements LeaseFence {
  private timer: NodeJS.Timeout | null = null;
  /** Incremented each time the lease is taken again after another replica retired it. */
  private generation = 0;
  /** performance.now() when the last heartbeat that succeeded was sent. */
  private beatSentAt = Number.NEGATIVE_INFINITY;
  private running: Promise<unknown> = Promise.resolve();
  private readonly node = nodeKey();
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  lastError: string | null = null;
  /** Work owed after a retirement (and, for notices, at start), until it succeeds once. */
  private readonly owed = new OwedWork();

  constructor(
    private readonly deps: {
      store: Store;
      events: EventWriter;
      approvals: ApprovalService;
      logger: Logger;
      notifier?: Notifier;
      /** Settles LLM reservations whose replica holds no lease; resolves how many. */
      reservations?: () => Promise<number>;
      /** Raises the budget alerts dead replicas owed; resolves how many (alert-sweep.ts). */
      alerts?: () => Promise<number>;
      /** Sends the notices stopped replicas left in the outbox; resolves how many. */
      notices?: () => Promise<number>;
      /** Kept in step with the store's clock at every reconciliation (store-clock.ts). */
      clock?: StoreClock;
    },
    options: LeaseOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  get id(): string {
    return this.deps.store.replica;
  }

  /** Takes the lease, reconciles what dead replicas left, then keeps both going. */
  async start(): Promise<ReconcileReport> {
    const sent = performance.now();
    await this.deps.store.replicas.register({ id: this.id, node: this.node, pid: process.pid });
    this.beatSentAt = sent;
    const report = await this.reconcile();
    this.timer = setInterval(() => {
      this.running = this.tick();
    }, this.heartbeatMs);
    this.timer.unref();
    return report;
  }

  /** Gives the lease back: what is still open becomes another replica's to reconcile. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running.catch(() => undefined);
    await this.deps.store.replicas.retire(this.id).catch((error: unknown) =>
      // Not fatal: the lease lapses instead, and a live replica reconciles this one's work then.
      this.deps.logger.warn({ err: error, replica: this.id }, 'could not retire this replica at stop'),
    );
  }

  epoch(): number {
    return this.generation;
  }

  async holds(epoch: number): Promise<boolean> {
    if (epoch !== this.generation) return false;
    const margin = Math.max(this.heartbeatMs, this.leaseMs - this.heartbeatMs);
    if (performance.now() - this.beatSentAt < margin) return true;
    // Stale here (a pause, a store stall): the store decides. A heartbeat that finds our row was
    // not retired, and a retire needs a stale heartbeat, so nothing of ours was reconciled.
    const sent = performance.now();
    const alive = await this.deps.store.replicas.heartbeat(this.id).catch(() => false);
    if (!alive || epoch !== this.generation) return false;
    this.beatSentAt = Math.max(this.beatSentAt, sent);
    return true;
  }

  private async tick(): Promise<void> {
    try {
      const sent = performance.now();
      if (!(await this.deps.store.replicas.heartbeat(this.id))) {
        // Another replica presumed us dead (a stall longer than the lease) and closed our work
        // as outcome_unknown; our later outcomes are still recorded. Take the lease again: work
        // begun under the lost one is fenced (`holds`), so none of it is forwarded now.
        this.generation++;
        this.deps.logger.warn({ replica: this.id }, 'lease was lost (presumed dead); registering again');
        await this.deps.store.replicas.register({ id: this.id, node: this.node, pid: process.pid });
      }
      this.beatSentAt = sent;
      await this.reconcile();
      this.lastError = null;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.deps.logger.warn({ err: error }, 'replica heartbeat or reconciliation failed');
    }
  }

  async reconcile(): Promise<ReconcileReport> {
    const { store, events } = this.deps;
    const before = Date.now();
    const { now, replicas } = await store.replicas.list();
    this.deps.clock?.observe(now, before, Date.now());
    const retired: string[] = [];
    for (const r of replicas) {
      if (r.id === this.id) continue;
      const gone =
        r.node === this.node && !this.node.includes('?') && r.pid !== process.pid && !pidAlive(r.pid);
      const lapsed = now - r.heartbeatAt > this.leaseMs;
      if (!gone && !lapsed) continue;
      // The lease and its event go together: a crash between them cannot lose the event.
      const written = await events.writeRetiring(
        {
          kind: 'replica.lapsed',
          actor: 'system',
          code: gone ? 'process_gone' : 'lease_lapsed',
          data: { replica: r.id, pid: r.pid, lastHeartbeat: r.heartbeatAt, by: this.id },
        },
        gone ? { id: r.id } : { id: r.id, staleBefore: now - this.leaseMs },
      );
      if (!written) continue;
      faultPoint('replica-retired');
      retired.push(r.id);
      // Owed until done: a store error below only delays it.
      this.owed.owe('alerts');
      this.owed.owe('notices');
    }
    let intents = 0;
    for (const intent of await store.intents.orphans()) {
      const written = await events.writeClosing(
        {
          kind: 'tools/call',
          runId: intent.runId,
          tool: intent.tool,
          decision: 'allow',
          code: 'outcome_unknown',
          actor: 'system',
          data: {
            intentId: intent.id,
            arguments: intent.arguments,
            argsHash: intent.argsHash,
            startedAt: intent.startedAt,
            replica: intent.owner,
            ...(intent.approvalId ? { approvalId: intent.approvalId } : {}),
            note: 'the gateway forwarding this call stopped before its outcome was recorded; check the upstream',
          },
        },
        intent.id,
      );
      if (written) intents++;
    }
    const approvals = (await this.deps.approvals.recoverOrphaned()).length;
    const reservations = (await this.deps.reservations?.()) ?? 0;
    // After the leftovers are charged, so their crossings count.
    const alerts = await this.owed.run('alerts', this.deps.alerts);
    const notices = await this.owed.run('notices', this.deps.notices);
    // One adoption takes a bounded batch: the next reconciliation looks for more.
    if (notices > 0) this.owed.owe('notices');
    if (retired.length || intents || approvals || reservations || alerts || notices) {
      this.deps.logger.warn(
        { retired, intents, approvals, reservations, alerts, notices },
        'reconciled work left by stopped replicas',
      );
      this.deps.notifier?.send({
        kind: 'replica.lapsed',
        title: `Reconciled ${intents} call(s), ${approvals} approval(s) and ${reservations} LLM request(s) left by a stopped gateway`,
        data: { retired, intents, approvals, reservations },
      });
    }
    return { retired, intents, approvals };
  }
}

/**
 * Work a reconciliation owes until it succeeds once: asked again at the next one when it failed,
 * and never run twice at once (a sweep of many runs outlasts a heartbeat; the next tick skips it).
 */
class OwedWork {
  private readonly owed = new Set<string>(['notices']);
  private readonly running = new Set<string>();

  owe(name: string): void {
    this.owed.add(name);
  }

  async run(name: string, work: (() => Promise<number>) | undefined): Promise<number> {
    if (!work || !this.owed.has(name) || this.running.has(name)) return 0;
    this.owed.delete(name);
    this.running.add(name);
    try {
      return await work();
    } catch (error) {
      this.owed.add(name);
      throw error;
    } finally {
      this.running.delete(name);
    }
  }
}
