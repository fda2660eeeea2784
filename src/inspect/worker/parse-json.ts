/**
 * `JSON.parse` done in an inspection worker (pool.ts `parseJson`, `holdJson`),
 * split from pool.ts as its own concept: a long upstream answer not cut to a
 * budget (one under its tool's `max_output`) no longer makes the event loop
 * allocate its megabytes of strings afresh, about 3.5 ms per MB in page faults
 * on this project's hosts (bench/README.md, neighbours, 1 Dec 21:40). The text
 * goes as bytes through a reused slab (one a character); the value's long
 * strings come back through the same slab (long-values.ts), read into strings
 * here before the slab is lent again, the rest of it in the message.
 *
 * What it gives is what `JSON.parse` gives (parse-json.test.ts compares them):
 * a text that is not JSON, or a worker that fails, is parsed on the main
 * thread, so the error, or the value, is the very one. A slab a dead worker
 * held is dropped, never lent again.
 */
import type { LiveWorkers } from './live-workers.js';
import { restoreLongStrings } from './long-values.js';
import type { Slabs } from './slabs.js';

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

/** What parsing aside uses of the pool. */
export interface ParseAside {
  readonly workers: LiveWorkers;
  readonly slabs: Slabs;
  /** Workers' failures, each told to `onFallback`, are counted here. */
  readonly counts: { parseFallbacks: number };
  /** The pool is closed: everything is parsed here. */
  closed(): boolean;
}

/**
 * `JSON.parse(text)`, done in a worker when the pool is open and `text` is all ASCII and fits a slab; a worker's failure
 * is told to `onFallback` (the caller logs it) and counted in `counts.parseFallbacks`.
 */
export async function parseJsonAside(
  pool: ParseAside,
  text: string,
  onFallback?: (error: Error) => void,
): Promise<unknown> {
  if (pool.closed() || Buffer.byteLength(text, 'utf8') !== text.length) return JSON.parse(text);
  const slab = pool.slabs.take(text.length);
  if (!slab) return JSON.parse(text);
  const bytes = new Uint8Array(slab, 0, text.length);
  Buffer.from(slab, 0, text.length).write(text, 'latin1');
  const outcome = await parsedAside(
    pool,
    { bytes },
    () => new Uint8Array(slab),
    // The slab is given back before `settle` runs, in the same turn: nothing can take it between.
    (answered) => answered && pool.slabs.give(slab),
    onFallback,
  );
  return outcome ? outcome.value : JSON.parse(text);
}

/**
 * Holds a long JSON text given as its bytes, all ASCII, for `parse` in a worker (see
 * `InspectionWorkers.holdJson`). Undefined when the pool is closed or no slab fits (twice its size: the input stays as it
 * came while the worker writes the value's long strings after it, so a worker that fails leaves the
 * text to parse here). A slab held must be given back: `parse` does it, `release` otherwise.
 */
export function holdJsonAside(
  pool: ParseAside,
  bytes: Uint8Array,
  onFallback?: (error: Error) => void,
): HeldJson | undefined {
  if (pool.closed()) return undefined;
  const slab = pool.slabs.take(2 * bytes.length);
  if (!slab) return undefined;
  new Uint8Array(slab, 0, bytes.length).set(bytes);
  const length = bytes.length;
  let released = false;
  /** The worker died holding the job: its slab is dropped, not lent again. */
  let lost = false;
  const release = () => {
    if (released) return;
    released = true;
    if (!lost) pool.slabs.give(slab);
  };
  const text = () => {
    if (released) throw new RangeError('a held text was read after its slab was given back');
    return Buffer.from(slab, 0, length).toString('latin1');
  };
  const parse = async (): Promise<unknown> => {
    const outcome = await parsedAside(
      pool,
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
async function parsedAside(
  pool: ParseAside,
  message: { bytes: Uint8Array; out?: number },
  strings: () => Uint8Array,
  done: (answered: boolean) => void,
  onFallback: ((error: Error) => void) | undefined,
): Promise<{ value: unknown } | undefined> {
  try {
    return await pool.workers.post<{ value: unknown } | undefined>(pool.workers.pick(), (job) => ({
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
    pool.counts.parseFallbacks++;
    onFallback?.(error instanceof Error ? error : new Error(String(error)));
    return undefined;
  }
}
