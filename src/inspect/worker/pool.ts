/**
 * The main thread's side of the inspection workers (thread.ts): a small pool
 * (one worker per core beyond the first, at most two) that takes the large
 * tool results, so their inspection and scrubbing never stall other agents.
 *
 * Scrubbers are replicated, not shared: the first job of a scrubber family
 * sends the worker its configuration and every secret added so far, and each
 * later `addSecrets` is posted to every worker at once, synchronously. A port
 * delivers in order, so a job always finds the secrets that existed when it
 * was posted.
 *
 * A worker that dies (crash, out of memory, terminated) fails every job it
 * held: the call is refused, never answered unscrubbed. The next job starts a
 * fresh worker, which is sent its families again.
 *
 * Workers run below the main thread's OS priority (priority.ts), and large
 * messages reach them through reused shared slabs (slabs.ts), so the event
 * loop neither waits for a core nor faults in fresh memory for a neighbour's
 * megabytes.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BulkheadError } from '../../errors.js';
import type { ScrubberBase, ScrubberReplica } from '../../scrub/replica.js';
import { precutKey } from '../precut.js';
import { restoreLongStrings, type StowedString, stowLongStrings } from './long-values.js';
import type { Framing } from './parse.js';
import type { ThreadPriority } from './priority.js';
import type { FromWorker, MeasuredOutput, OutputOptions, ToWorker } from './protocol.js';
import { copyShallow, copyShape } from './same-data.js';
import { fill, Slabs } from './slabs.js';

/** A worker's answer to a job. */
type Answer = Exclude<FromWorker, { type: 'failed' } | { type: 'started' }>;

interface Pending {
  /** Called with the worker's answer (not `failed`). */
  settle: (message: Answer) => void;
  reject: (error: Error) => void;
  /** Called once the worker is done with the job: `answered` false when it died holding it. */
  done?: (answered: boolean) => void;
}

/**
 * A long JSON text held as bytes in a slab (`InspectionWorkers.holdJson`): `parse` gives what
 * `JSON.parse` gives (the value, or the very error) and gives the slab back; `text` reads it as a
 * string while held; `release` gives the slab back unparsed. Once given back it cannot be read.
 */
export interface HeldJson {
  /** Characters (bytes: all ASCII). */
  readonly length: number;
  text(): string;
  parse(): Promise<unknown>;
  release(): void;
}

/** A large message after a worker read it: cut (`text`), or nothing to cut (the caller keeps its bytes). */
export type CutMessage = { text: string } | { unchanged: true };

interface Live {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Families this worker was sent. */
  bases: Set<number>;
  dead: boolean;
  /** Its thread and OS priority, once it said (priority.ts). */
  priority: ThreadPriority | undefined;
}

/**
 * Starts a worker on the built JavaScript beside this file, or, running from the sources (tests,
 * `tsx`), on the TypeScript through tsx's loader, registered inside the worker.
 */
function startThread(): Worker {
  const js = new URL('./thread.js', import.meta.url);
  // The key that lets the worker's cut results be told from forged ones (precut.ts).
  const workerData = { precutKey: precutKey() };
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL('./thread.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

export class InspectionWorkers {
  private readonly slots: (Live | undefined)[];
  private readonly families = new Map<number, { base: ScrubberBase; unsubscribe: () => void }>();
  private nextJob = 1;
  private closed = false;
  /** Shared memory the large messages are copied into (slabs.ts). */
  readonly slabs = new Slabs();
  /**
   * Jobs answered (messages cut among them, results kept by the main thread because inspection
   * left them as they were), workers started (the first included): for tests.
   */
  readonly counts = { jobs: 0, cuts: 0, kept: 0, started: 0, parseFallbacks: 0 };

  constructor(size = Math.max(1, Math.min(2, availableParallelism() - 1))) {
    this.slots = new Array<Live | undefined>(size).fill(undefined);
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
    const live = this.pick();
    this.follow(replica.base);
    if (!live.bases.has(replica.base.id)) {
      live.bases.add(replica.base.id);
      live.worker.postMessage({
        type: 'base',
        base: replica.base.id,
        configured: replica.base.configured,
        added: replica.base.added(),
        disableRules: replica.base.disableRules,
        maxDepth: replica.base.maxDepth,
      } satisfies ToWorker);
    }
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
    return this.post<MeasuredOutput>(live, (job) => ({
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
    return this.post<CutMessage>(this.pick(), (job) => ({
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
   * `JSON.parse(text)`, done in a worker when `text` is all ASCII and fits a slab: a long upstream
   * answer not cut to a budget (one under its tool's `max_output`) no longer makes the event loop
   * allocate its megabytes of strings afresh, about 3.5 ms per MB in page faults on this project's
   * hosts (bench/README.md, neighbours, 1 Dec 21:40). The text goes as bytes through a reused slab
   * (one a character); the value's long strings come back through the same slab (long-values.ts),
   * read into strings here before the slab is lent again, the rest of it in the message. What it
   * gives is what `JSON.parse` gives (tests compare them): a text that is not JSON, or a worker that
   * fails, is parsed here, so the error, or the value, is the very one. A worker's failure is told
   * to `onFallback` (the caller logs it) and counted in `counts.parseFallbacks`.
   */
  async parseJson(text: string, onFallback?: (error: Error) => void): Promise<unknown> {
    if (this.closed || Buffer.byteLength(text, 'utf8') !== text.length) return JSON.parse(text);
    const slab = this.slabs.take(text.length);
    if (!slab) return JSON.parse(text);
    const bytes = new Uint8Array(slab, 0, text.length);
    Buffer.from(slab, 0, text.length).write(text, 'latin1');
    const outcome = await this.parsedAside(
      { bytes },
      () => new Uint8Array(slab),
      // The slab is given back before `settle` runs, in the same turn: nothing can take it between.
      (answered) => answered && this.slabs.give(slab),
      onFallback,
    );
    return outcome ? outcome.value : JSON.parse(text);
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
    if (this.closed) return undefined;
    const slab = this.slabs.take(2 * bytes.length);
    if (!slab) return undefined;
    new Uint8Array(slab, 0, bytes.length).set(bytes);
    const length = bytes.length;
    let released = false;
    /** The worker died holding the job: its slab is dropped, not lent again. */
    let lost = false;
    const release = () => {
      if (released) return;
      released = true;
      if (!lost) this.slabs.give(slab);
    };
    const text = () => {
      if (released) throw new RangeError('a held text was read after its slab was given back');
      return Buffer.from(slab, 0, length).toString('latin1');
    };
    const parse = async (): Promise<unknown> => {
      const outcome = await this.parsedAside(
        { bytes: new Uint8Array(slab, 0, length), out: length },
        () => new Uint8Array(slab, length),
        (answered) => {
          lost = !answered;
        },
        onFallback,
      );
      try {
        // Not JSON, or the worker failed: parsed here, from the text as it came (never written over).
        return outcome ? outcome.value : JSON.parse(text());
      } finally {
        release();
      }
    };
    return { length, text, parse, release };
  }

  /**
   * The value a worker parsed from `message.bytes`, its long strings read back from `strings` (a
   * view on the same slab); undefined when the text is not JSON or the worker failed (told to
   * `onFallback` and counted): the caller parses it then, for the very value or error.
   */
  private async parsedAside(
    message: { bytes: Uint8Array; out?: number },
    strings: () => Uint8Array,
    done: (answered: boolean) => void,
    onFallback: ((error: Error) => void) | undefined,
  ): Promise<{ value: unknown } | undefined> {
    try {
      return await this.post<{ value: unknown } | undefined>(this.pick(), (job) => ({
        message: { type: 'parse', job, ...message },
        done,
        settle: (answer, resolve) => {
          if (answer.type !== 'parsed') return false;
          if (answer.invalid) resolve(undefined);
          else if (answer.strings)
            resolve({ value: restoreLongStrings(answer.value, answer.strings, strings()) });
          else resolve({ value: answer.value });
          return true;
        },
      }));
    } catch (error) {
      this.counts.parseFallbacks++;
      onFallback?.(error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
  }

  private post<T>(
    live: Live,
    make: (job: number) => {
      message: ToWorker;
      transfer?: ArrayBuffer[];
      done?: (answered: boolean) => void;
      /** Resolves with the worker's answer; false when it is not the answer this job expects. */
      settle: (message: Answer, resolve: (value: T) => void) => boolean;
    },
  ): Promise<T> {
    const job = this.nextJob++;
    const { message, transfer, settle, done } = make(job);
    return new Promise<T>((resolve, reject) => {
      live.pending.set(job, {
        settle: (m) => {
          if (!settle(m, resolve)) reject(failure('the inspection worker answered out of turn'));
        },
        reject,
        ...(done ? { done } : {}),
      });
      try {
        live.worker.postMessage(message, transfer);
      } catch (error) {
        // Not sent (a value the structured clone cannot take): nothing of it is held, its slab is free.
        live.pending.delete(job);
        done?.(true);
        reject(error);
      }
    });
  }

  /** The live workers' threads and OS priorities, as far as they have said (for tests and health). */
  priorities(): ThreadPriority[] {
    return this.slots.flatMap((s) => (s && !s.dead && s.priority ? [s.priority] : []));
  }

  /** Jobs in flight per worker (for tests and metrics). */
  load(): number[] {
    return this.slots.map((s) => (s && !s.dead ? s.pending.size : 0));
  }

  /** Ends every worker as a crash would (tests use it to kill one mid-job). */
  async terminate(): Promise<void> {
    await Promise.all(this.slots.map((s) => s?.worker.terminate()));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const family of this.families.values()) family.unsubscribe();
    this.families.clear();
    this.slabs.close();
    await this.terminate();
  }

  /** The live worker with the fewest jobs, started (or restarted) if needed. */
  private pick(): Live {
    let best = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (!slot || slot.dead) {
        this.slots[i] = this.start();
        return this.slots[i] as Live;
      }
      if (best < 0 || slot.pending.size < (this.slots[best] as Live).pending.size) best = i;
    }
    return this.slots[best] as Live;
  }

  private start(): Live {
    const worker = startThread();
    this.counts.started++;
    // Idle workers must not keep a stopping gateway alive.
    worker.unref();
    const live: Live = { worker, pending: new Map(), bases: new Set(), dead: false, priority: undefined };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'started') {
        live.priority = message.priority;
        return;
      }
      const pending = live.pending.get(message.job);
      if (!pending) return;
      live.pending.delete(message.job);
      this.counts.jobs++;
      pending.done?.(true);
      if (message.type === 'failed') pending.reject(failure(`inspection failed: ${message.message}`));
      else pending.settle(message);
    });
    const die = (why: string) => {
      if (live.dead) return;
      live.dead = true;
      for (const pending of live.pending.values()) {
        pending.done?.(false);
        pending.reject(failure(why));
      }
      live.pending.clear();
    };
    worker.on('error', (error) => die(`the inspection worker crashed: ${error.message}`));
    worker.on('exit', (code) => die(`the inspection worker exited (code ${code})`));
    return live;
  }

  /** Forwards a family's later secrets to every worker that has it, the moment they are added. */
  private follow(base: ScrubberBase): void {
    if (this.families.has(base.id)) return;
    const unsubscribe = base.subscribe((values) => {
      for (const slot of this.slots) {
        if (!slot || slot.dead || !slot.bases.has(base.id)) continue;
        slot.worker.postMessage({ type: 'secrets', base: base.id, values } satisfies ToWorker);
      }
    });
    this.families.set(base.id, { base, unsubscribe });
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

function failure(message: string): BulkheadError {
  return new BulkheadError('inspection_failed', message);
}

let shared: InspectionWorkers | undefined;

/** The process's inspection workers, started on first use. */
export function inspectionWorkers(): InspectionWorkers {
  shared ??= new InspectionWorkers();
  return shared;
}
