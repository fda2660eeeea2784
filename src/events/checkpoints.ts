/**
 * The gateway's side of the tamper-evident log: at start-up it verifies the
 * tail of every writer's chain and the latest checkpoint, and alerts on a
 * break (an `audit.broken` event, an error log line, a notification); then,
 * periodically and at a clean stop, it records a checkpoint (every writer's
 * head) as an `audit.checkpoint` event and sends it to notifiers subscribed to
 * `audit.checkpoint`, so a copy lives outside the store an attacker reached.
 */
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { EventStore } from '../store/store.js';
import { readAnchor, writeAnchor } from './anchor.js';
import { currentCheckpoint, describeFinding, type VerifyReport, verifyLog } from './verify.js';
import type { EventWriter } from './writer.js';

export const DEFAULT_CHECKPOINT_MS = 5 * 60_000;
/** How many of each writer's last events the start-up check re-hashes. */
export const TAIL_EVENTS = 500;
/** How often the anchor outside the store follows the heads between checkpoints. */
export const ANCHOR_MS = 5_000;

export class AuditCheckpoints {
  private timer: NodeJS.Timeout | null = null;
  private anchorTimer: NodeJS.Timeout | null = null;
  private lastHeads = '';
  private lastAnchored = '';
  private anchorWarned = false;
  /** The start-up verdict, for health. */
  report: VerifyReport | null = null;

  constructor(
    private readonly deps: {
      store: EventStore;
      events: EventWriter;
      logger: Logger;
      notifier: Notifier;
      intervalMs?: number;
      /** The anchor file outside the store (src/events/anchor.ts), and the store it anchors. */
      anchor?: { file: string; store: string; everyMs?: number };
    },
  ) {}

  async start(): Promise<VerifyReport> {
    const anchored = this.deps.anchor ? readAnchor(this.deps.anchor.file) : undefined;
    const report = await verifyLog(this.deps.store, {
      tail: TAIL_EVENTS,
      ...(anchored ? { checkpoints: [anchored] } : {}),
    });
    this.report = report;
    if (!report.ok) {
      const lines = report.findings.slice(0, 20).map(describeFinding);
      this.deps.logger.error(
        { findings: lines },
        'the audit log chain is broken: events were deleted, edited or reordered',
      );
      await this.deps.events.write({
        kind: 'audit.broken',
        actor: 'system',
        code: 'chain_broken',
        data: { findings: report.findings.slice(0, 100), total: report.findings.length },
      });
      this.deps.notifier.send({
        kind: 'audit.broken',
        title: `Audit log tampering detected: ${report.findings.length} break(s) in the hash chain`,
        data: { findings: lines },
      });
    }
    await this.checkpoint();
    // Alerted (event, log, notification): the anchor starts again from this log, so the break
    // is reported once rather than at every start (the `audit.broken` event keeps it).
    if (!report.ok) await this.anchor(true).catch(() => undefined);
    const every = this.deps.intervalMs ?? DEFAULT_CHECKPOINT_MS;
    this.timer = setInterval(() => {
      this.checkpoint().catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'audit checkpoint failed'),
      );
    }, every);
    this.timer.unref();
    if (this.deps.anchor) {
      this.anchorTimer = setInterval(() => {
        this.anchor().catch((error: unknown) => this.anchorFailed(error));
      }, this.deps.anchor.everyMs ?? ANCHOR_MS);
      this.anchorTimer.unref();
    }
    return report;
  }

  /** Said once, not every few seconds: an unwritable home stays unwritable. */
  private anchorFailed(error: unknown): void {
    if (this.anchorWarned) return;
    this.anchorWarned = true;
    this.deps.logger.warn(
      { err: error, file: this.deps.anchor?.file },
      'the audit anchor cannot be written in the gateway home: a deleted tail of the log will not show',
    );
  }

  /** Moves the anchor outside the store to the current heads, if they moved. */
  async anchor(replace = false): Promise<void> {
    const anchor = this.deps.anchor;
    if (!anchor) return;
    const cp = await currentCheckpoint(this.deps.store);
    const key = JSON.stringify(cp.heads);
    if (key === this.lastAnchored && !replace) return;
    writeAnchor(anchor.file, anchor.store, cp, replace);
    this.lastAnchored = key;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.anchorTimer) clearInterval(this.anchorTimer);
    this.timer = null;
    this.anchorTimer = null;
    // The last checkpoint before stopping: without it the chain is still verifiable, only the
    // events since the previous checkpoint are not anchored yet.
    await this.checkpoint().catch((error: unknown) =>
      this.deps.logger.warn({ err: error }, 'final audit checkpoint failed'),
    );
  }

  /** Records every writer's head, unless nothing was written since the last checkpoint. */
  async checkpoint(): Promise<void> {
    const cp = await currentCheckpoint(this.deps.store);
    const key = JSON.stringify(cp.heads);
    if (key === this.lastHeads) return;
    const written = await this.deps.events.write({
      kind: 'audit.checkpoint',
      actor: 'system',
      data: { ...cp },
    });
    // The checkpoint event moved this writer's head; the next one is only due after new events.
    this.lastHeads = JSON.stringify((await currentCheckpoint(this.deps.store)).heads);
    await this.anchor().catch((error: unknown) => this.anchorFailed(error));
    this.deps.notifier.send({
      kind: 'audit.checkpoint',
      title: `Audit checkpoint: ${cp.heads.length} writer(s)`,
      data: { checkpoint: cp, eventId: written.id },
    });
  }
}
