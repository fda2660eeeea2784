/**
 * Messages between the gateway's main thread and an inspection worker
 * (pool.ts, thread.ts). One port carries them in order, which is what makes
 * secrets safe: a `secrets` message posted before a job is handled before it.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { JsonMeasure } from '../../pipeline/measure-json.js';
import type { PiiAction, PiiKind } from '../../scrub/pii.js';
import type { InspectFinding, InspectFlag } from '../inspector.js';
import type { StowedString } from './long-values.js';
import type { Framing } from './parse.js';
import type { ThreadPriority } from './priority.js';

export interface OutputOptions {
  /** Budget for the whole result (the tool's `max_output`). */
  maxBytes: number;
  spotlight?: boolean;
  nonce?: string;
  /** The text the agent was shown before the result (the call's progress), read joined with it. */
  shown?: string;
}

export type ToWorker =
  /** A scrubber family the worker has not seen: everything it knows so far. */
  | {
      type: 'base';
      base: number;
      configured: readonly string[];
      added: readonly string[];
      disableRules: readonly string[];
      maxDepth: number;
    }
  /** Secrets a known family learnt since. */
  /** Runtime secrets added, or with `forget` forgotten (a run token once its run ended). */
  | { type: 'secrets'; base: number; values: readonly string[]; forget?: boolean }
  | {
      type: 'inspect';
      job: number;
      base: number;
      pii: Readonly<Record<PiiKind, PiiAction>>;
      result: CallToolResult;
      options: OutputOptions;
      /**
       * The result's long strings, when they travel as bytes (long-values.ts): `result` is then
       * its shape, and `bytes` a view of a shared slab, read before answering and never kept.
       */
      stowed?: { strings: StowedString[]; bytes: Uint8Array };
    }
  /**
   * A large upstream message to parse and cut to `maxBytes` (parse.ts): `bytes` is a view of a
   * shared slab (read before answering, never kept) or a buffer transferred to the worker.
   */
  | { type: 'cut'; job: number; bytes: Uint8Array; framing: Framing; maxBytes: number }
  /**
   * A long JSON text, all ASCII, to `JSON.parse` (pool.ts `parseJson`): `bytes` is a view of a shared
   * slab holding it one byte a character. The worker reads it first, then may write the value's long
   * strings back into the same slab (`parsed`), from `out` on (default 0: over the text, read by then).
   */
  | { type: 'parse'; job: number; bytes: Uint8Array; out?: number };

export interface InspectedOutput {
  result: CallToolResult;
  flags: InspectFlag[];
  findings: InspectFinding[];
}

/** A worker's inspection, with the measure of its result's content (`done`, above). */
export interface MeasuredOutput extends InspectedOutput {
  measured: JsonMeasure;
}

export type FromWorker =
  /** Sent once, first: the worker's thread and the OS priority it runs at (priority.ts). */
  | { type: 'started'; job: 0; priority: ThreadPriority }
  /**
   * `measured`: the JSON size and audit preview of the result's content (pipeline/measure-json.ts).
   * `result` absent: the job's result came out of inspection and scrubbing the same, as data
   * (same-data.ts), and the main thread keeps its own.
   */
  | ({
      type: 'done';
      job: number;
      redactions: Record<string, number>;
      measured: JsonMeasure;
      result?: CallToolResult;
    } & Omit<InspectedOutput, 'result'>)
  /** `text`: the message cut; absent: nothing to cut (the main thread passes on its own bytes). */
  | { type: 'cut'; job: number; text?: string }
  /**
   * `value`: the parsed text; with `strings`, its shape, the long strings written into the job's slab
   * from the job's `out` (long-values.ts). `invalid`: the text is not JSON (the main thread parses it
   * itself for the very error `JSON.parse` gives).
   */
  | { type: 'parsed'; job: number; value?: unknown; strings?: StowedString[]; invalid?: true }
  | { type: 'failed'; job: number; message: string };
