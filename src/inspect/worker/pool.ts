/**
 * The main thread's side of the inspection workers (thread.ts): a small pool
 * (one worker per core beyond the first, at most two) that takes the large
 * tool results, so their inspection and scrubbing never stall other agents.
 * This file is the pool's face (inspect a result, cut a message, parse JSON
 * aside) and composes its parts, one concept a file:
 *
 * - live-workers.ts: the worker threads and the jobs in flight on them, and
 *   a worker's death: every job it held is refused, never answered
 *   unscrubbed, and a slab it held is dropped, never lent again; the next
 *   job starts a fresh worker;
 * - replicas.ts: scrubbers replicated, not shared: each worker is sent a
 *   family's configuration and secrets, and every later secret at once;
 * - parse-json.ts: `JSON.parse` done in a worker through a slab.
 *
 * Workers run below the main thread's OS priority (priority.ts), and large
 * messages reach them through reused shared slabs (slabs.ts), so the event
 * loop neither waits for a core nor faults in fresh memory for a neighbour's
 * megabytes.
 */
import { availableParallelism } from 'node:os';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ScrubberReplica } from '../../scrub/replica.js';
import { failure, LiveWorkers } from './live-workers.js';
import { type StowedString, stowLongStrings } from './long-values.js';
import type { Framing } from './parse.js';
import { type HeldJson, holdJsonAside, type ParseAside, parseJsonAside } from './parse-json.js';
import type { ThreadPriority } from './priority.js';
import type { MeasuredOutput, OutputOptions } from './protocol.js';
import { FamilyReplicas } from './replicas.js';
import { copyShallow, copyShape } from './same-data.js';
import { fill, Slabs } from './slabs.js';

export type { HeldJson } from './parse-json.js';

/** A large message after a worker read it: cut (`text`), or nothing to cut (the caller keeps its bytes). */
export type CutMessage = { text: string } | { unchanged: true };

export class InspectionWorkers {
  private readonly workers: LiveWorkers;
  private readonly replicas: FamilyReplicas;
  private readonly aside: ParseAside;
  private closed = false;
  /** Shared memory the large messages are copied into (slabs.ts). */
  readonly slabs = new Slabs();
  /**
   * Jobs answered (messages cut among them, results kept by the main thread because inspection
   * left them as they were), workers started (the first included): for tests.
   */
  readonly counts = { jobs: 0, cuts: 0, kept: 0, started: 0, parseFallbacks: 0 };

  constructor(size = Math.max(1, Math.min(2, availableParallelism() - 1))) {
    this.workers = new LiveWorkers(size, this.counts);
    this.replicas = new FamilyReplicas(this.workers);
    this.aside = { workers: this.workers, slabs: this.slabs, counts: this.counts, closed: () => this.closed };
  }

  inspect(result: CallToolResult, options: OutputOptions, replica: ScrubberReplica): Promise<MeasuredOutput> {
    if (this.closed) return Promise.reject(failure('the inspection workers are closed'));
    return this.sendInspection(result, options, replica).catch((error: unknown) => {
      // Only posting throws a RangeError: a result nested deeper than a structured clone can
      // follow (JSON.parse takes any depth). Sent again with what the inspection drops cut off,
      // it is inspected as the same result under the worker size is on the main thread.
      if (!(error instanceof RangeError)) throw error;
      return this.sendInspection(copyShallow(result), options, replica);
    });
  }

  private sendInspection(
    result: CallToolResult,
    options: OutputOptions,
    replica: ScrubberReplica,
  ): Promise<MeasuredOutput> {
    const live = this.workers.pick();
    this.replicas.send(live, replica.base);
    // Long strings go as bytes through a reused slab, not serialised into fresh memory (long-values.ts).
    const stowed = stowLongStrings(result);
    const slab = stowed ? this.slabs.take(stowed.size) : undefined;
    let travel: { result: CallToolResult; stowed?: { strings: StowedString[]; bytes: Uint8Array } } = {
      result,
    };
    if (stowed && slab) {
      const bytes = new Uint8Array(slab, 0, stowed.size);
      stowed.write(bytes);
      travel = { result: stowed.shape, stowed: { strings: stowed.strings, bytes } };
    }
    return this.workers.post<MeasuredOutput>(live, (job) => ({
      message: {
        type: 'inspect',
        job,
        base: replica.base.id,
        pii: replica.pii,
        options,
        ...travel,
      },
      // A slab goes back for reuse once the worker answered; one a dead worker held is dropped.
      ...(slab ? { done: (answered: boolean) => answered && this.slabs.give(slab) } : {}),
      settle: (message, resolve) => {
        if (message.type !== 'done') return false;
        replica.onRedactions?.(message.redactions);
        const { flags, findings, measured } = message;
        // No result: the worker's would be this one, as data (same-data.ts); a structure of the
        // caller's own, its strings shared, rather than the megabytes sent back.
        if (!message.result) this.counts.kept++;
        resolve({ result: message.result ?? copyShape(result), flags, findings, measured });
        return true;
      },
    }));
  }

  /**
   * Parses a large upstream message (`parts`, `size` bytes in all) in a worker and cuts its tool
   * result to `maxBytes` (parse.ts). The bytes are copied into a reused shared slab (slabs.ts),
   * or, over the largest slab, joined into a buffer moved to the worker; `parts` are not touched,
   * and are what the caller passes on when nothing was cut.
   */
  cut(parts: readonly Uint8Array[], size: number, framing: Framing, maxBytes: number): Promise<CutMessage> {
    if (this.closed) return Promise.reject(failure('the inspection workers are closed'));
    const slab = this.slabs.take(size);
    const bytes = slab ? fill(slab, parts, size) : joined(parts, size);
    return this.workers.post<CutMessage>(this.workers.pick(), (job) => ({
      message: { type: 'cut', job, bytes, framing, maxBytes },
      ...(slab ? {} : { transfer: [bytes.buffer as ArrayBuffer] }),
      // A slab goes back for reuse once the worker answered; one a dead worker held is dropped.
      ...(slab ? { done: (answered: boolean) => answered && this.slabs.give(slab) } : {}),
      settle: (message, resolve) => {
        if (message.type !== 'cut') return false;
        this.counts.cuts++;
        resolve(message.text !== undefined ? { text: message.text } : { unchanged: true });
        return true;
      },
    }));
  }

  /**
   * `JSON.parse(text)`, done in a worker when `text` is all ASCII and fits a slab (parse-json.ts), so
   * a long upstream answer not cut to a budget does not make the event loop allocate its megabytes
   * of strings afresh. What it gives is what `JSON.parse` gives: a text that is not JSON, or a worker
   * that fails, is parsed here. A worker's failure is told to `onFallback` (the caller logs it) and
   * counted in `counts.parseFallbacks`.
   */
  parseJson(text: string, onFallback?: (error: Error) => void): Promise<unknown> {
    return parseJsonAside(this.aside, text, onFallback);
  }

  /**
   * Holds a long JSON text given as its bytes, all ASCII (`bytes`, a long SSE data line's value), for
   * `parse` in a worker: the bytes are copied into a reused slab now (the caller may reuse its buffer
   * at once), so the text is never made a string on the event loop unless asked (`text`). Undefined
   * when no slab fits (twice its size: the input stays as it came while the worker writes the value's
   * long strings after it, so a worker that fails leaves the text to parse here). A slab held must be
   * given back: `parse` does it, `release` otherwise.
   */
  holdJson(bytes: Uint8Array, onFallback?: (error: Error) => void): HeldJson | undefined {
    return holdJsonAside(this.aside, bytes, onFallback);
  }

  /** The live workers' threads and OS priorities, as far as they have said (for tests and health). */
  priorities(): ThreadPriority[] {
    return this.workers.priorities();
  }

  /** Jobs in flight per worker (for tests and metrics). */
  load(): number[] {
    return this.workers.load();
  }

  /** Ends every worker as a crash would (tests use it to kill one mid-job). */
  terminate(): Promise<void> {
    return this.workers.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.replicas.close();
    this.slabs.close();
    await this.terminate();
  }
}

/** `parts` joined into a buffer that fills its own memory, so it can be moved to a worker. */
function joined(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

let shared: InspectionWorkers | undefined;

/** The process's inspection workers, started on first use. */
export function inspectionWorkers(): InspectionWorkers {
  shared ??= new InspectionWorkers();
  return shared;
}
