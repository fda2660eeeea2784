/**
 * The tamper-evident audit log: every event carries the SHA-256 of its own
 * content and of the previous event of the same writer. A writer is one store
 * handle (one gateway process), so replicas never serialise on a shared chain
 * and a batch of events from one writer (group commit) is simply consecutive
 * links. Deleting, editing or reordering a chained row breaks a link that
 * `bulkhead audit verify` reports; deleting a writer's tail shows against any
 * later checkpoint (an `audit.checkpoint` event, or one exported elsewhere).
 *
 * The id the store assigns is not hashed: it is unknown until the insert, and
 * order within a writer is `seq`. Verification also checks that ids rise with
 * seq, so rows swapped in place read as reordered.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../util/canonical.js';
import type { AuditEvent, ChainLink, NewEvent } from './event.js';

/** The fields an event's hash covers: everything but the store-assigned id. */
export type ChainedFields = Pick<
  AuditEvent,
  'at' | 'kind' | 'runId' | 'tool' | 'decision' | 'code' | 'actor' | 'data'
>;

export function genesis(writer: string): string {
  return createHash('sha256').update(`bulkhead-audit-chain\n${writer}`).digest('hex');
}

export function linkHash(writer: string, seq: number, prev: string, fields: ChainedFields): string {
  const body = canonicalJson({
    writer,
    seq,
    at: fields.at,
    kind: fields.kind,
    runId: fields.runId,
    tool: fields.tool,
    decision: fields.decision,
    code: fields.code,
    actor: fields.actor,
    data: fields.data,
  });
  return createHash('sha256').update(prev).update('\n').update(body).digest('hex');
}

/** The complete row an append writes: defaults filled in, so what is hashed is what is stored. */
export function completeEvent(event: NewEvent, now: () => number = Date.now): ChainedFields {
  return completeEventText(event, now).fields;
}

/**
 * `completeEvent` and its data as JSON text: the text a store writes is the one the hashed data
 * was read back from (`JSON.stringify` of `JSON.parse(text)` is `text` again), so an append
 * serialises the data once, not twice.
 */
export function completeEventText(
  event: NewEvent,
  now: () => number = Date.now,
): { fields: ChainedFields; dataText: string } {
  const dataText = JSON.stringify(event.data ?? {});
  const fields: ChainedFields = {
    at: event.at ?? now(),
    kind: event.kind,
    runId: event.runId ?? null,
    tool: event.tool ?? null,
    decision: event.decision ?? null,
    code: event.code ?? null,
    actor: event.actor ?? null,
    // Hashed as it will read back: what JSON (and PostgreSQL's JSONB) keeps of it.
    data: JSON.parse(dataText) as Record<string, unknown>,
  };
  return { fields, dataText };
}

/**
 * One writer's head. `link` proposes the next link without moving the head;
 * `advance` moves it once the row is durable, so a failed insert leaves no gap.
 */
export class ChainHead {
  private seq = 0;
  private hash: string;

  constructor(readonly writer: string) {
    this.hash = genesis(writer);
  }

  link(fields: ChainedFields, offset = 0, prev = this.hash): ChainLink {
    const seq = this.seq + 1 + offset;
    return { writer: this.writer, seq, prev, hash: linkHash(this.writer, seq, prev, fields) };
  }

  advance(link: ChainLink): void {
    this.seq = link.seq;
    this.hash = link.hash;
  }

  /** Where the head is, to go back to if the transaction holding the next links rolls back. */
  mark(): { seq: number; hash: string } {
    return { seq: this.seq, hash: this.hash };
  }

  reset(mark: { seq: number; hash: string }): void {
    this.seq = mark.seq;
    this.hash = mark.hash;
  }

  get position(): { seq: number; hash: string } {
    return { seq: this.seq, hash: this.hash };
  }
}

/** A break in a writer's chain, as `bulkhead audit verify` reports it. */
export type ChainFinding =
  | { kind: 'deleted'; writer: string; fromSeq: number; toSeq: number; beforeId: number | null }
  | { kind: 'edited'; writer: string; seq: number; id: number }
  | { kind: 'reordered'; writer: string; seq: number; id: number }
  | { kind: 'checkpoint_mismatch'; writer: string; seq: number; expected: string; found: string | null };

/**
 * Checks one writer's events, given in seq order, page by page. Keeps only the
 * last link, so a chain of any length verifies in constant memory.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash: string;
  private lastId = 0;
  readonly findings: ChainFinding[] = [];
  checked = 0;

  constructor(readonly writer: string) {
    this.prevHash = genesis(writer);
  }

  /**
   * Starts mid-chain (a tail check): `event` is taken as given, if its own hash holds,
   * and the next event must follow it.
   */
  seed(event: AuditEvent): void {
    const link = event.chain;
    if (!link) return;
    if (linkHash(link.writer, link.seq, link.prev, event) !== link.hash) {
      this.findings.push({ kind: 'edited', writer: this.writer, seq: link.seq, id: event.id });
    }
    this.checked++;
    this.expectedSeq = link.seq + 1;
    this.prevHash = link.hash;
    this.lastId = event.id;
  }

  feed(event: AuditEvent): void {
    const link = event.chain;
    if (!link) return;
    this.checked++;
    const recomputed = linkHash(link.writer, link.seq, link.prev, event);
    if (recomputed !== link.hash) {
      this.findings.push({ kind: 'edited', writer: this.writer, seq: link.seq, id: event.id });
    }
    if (link.seq > this.expectedSeq) {
      this.findings.push({
        kind: 'deleted',
        writer: this.writer,
        fromSeq: this.expectedSeq,
        toSeq: link.seq - 1,
        beforeId: event.id,
      });
    } else if (link.prev !== this.prevHash && recomputed === link.hash) {
      // Same position, intact content, but not chained to what precedes it: rows moved.
      this.findings.push({ kind: 'reordered', writer: this.writer, seq: link.seq, id: event.id });
    }
    if (event.id < this.lastId) {
      this.findings.push({ kind: 'reordered', writer: this.writer, seq: link.seq, id: event.id });
    }
    this.lastId = Math.max(this.lastId, event.id);
    this.expectedSeq = link.seq + 1;
    // Continue from the stored hash: one edit is reported once, not as a cascade.
    this.prevHash = link.hash;
  }

  /** The writer's last verified position. */
  get tail(): { seq: number; hash: string } {
    return { seq: this.expectedSeq - 1, hash: this.prevHash };
  }
}
