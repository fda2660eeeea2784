/**
 * Large upstream messages are read off the main thread. An answer over
 * `threshold` bytes that answers a `tools/call` is handed, as bytes, to an
 * inspection worker (src/inspect/worker), which parses it and cuts its text to
 * the tool's `max_output` (src/inspect/precut.ts); the SDK then parses a
 * message the size of the budget. Without this, parsing a 9 MB answer (and
 * the SDK's SSE decoding of it) held the event loop for tens of milliseconds
 * per call, stalling every other agent. A message too short to hold a text
 * over its budget is not sent (`worthCutting`): the worker would parse it
 * only to give it back unchanged.
 *
 * The stdio reader and the HTTP fetch (stdio-reader.ts, http-response.ts) call
 * this; `SentCalls` remembers which tool each request id called (stdio
 * answers carry only the id).
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { type CutMessage, inspectionWorkers } from '../inspect/worker/pool.js';
import { LargeGate } from './large-gate.js';
import { OversizePacer } from './oversize-pacer.js';

/** Messages larger than this are read by a worker when they answer a tool call. */
export const LARGE_MESSAGE = 256 * 1024;

/**
 * Whether a message of `size` bytes answering a tool with budget `maxBytes` goes to a worker:
 * over the threshold, and long enough to hold a text precut.ts would cut (one over `maxBytes + 1`
 * characters). A JSON text of n bytes decodes to at most n UTF-16 characters (every character
 * takes at least one byte; a four-byte one makes two), so a message of at most `maxBytes + 1`
 * bytes holds no such text whatever it contains.
 */
export function worthCutting(size: number, maxBytes: number, threshold = LARGE_MESSAGE): boolean {
  return size > threshold && size > Math.floor(maxBytes) + 1;
}

export interface LargeMessages {
  threshold: number;
  /** This upstream's large answers with the workers at once (large-gate.ts). */
  gate: LargeGate;
  /** Paces reading the rest of answers past their budget while others wait (HTTP only, oversize-pacer.ts). */
  pacer?: OversizePacer;
  /** The budget (`max_output`) of an upstream tool; undefined: not cut. */
  limitFor(tool: string): number | undefined;
  /** Whether a message of `size` bytes for a budget of `maxBytes` is sent to a worker (see above). */
  worthCutting(size: number, maxBytes: number): boolean;
  /** `parts` (`size` bytes in all) are copied for the worker, never changed: on `unchanged` they pass on. */
  cut(
    parts: readonly Uint8Array[],
    size: number,
    framing: 'sse' | 'json' | 'line',
    maxBytes: number,
  ): Promise<CutMessage>;
}

export function largeMessages(
  limitFor: (tool: string) => number | undefined,
  /** Whether other calls are in flight: given, answers past their budget are paced. */
  contended?: () => boolean,
): LargeMessages {
  return {
    threshold: LARGE_MESSAGE,
    gate: new LargeGate(),
    ...(contended ? { pacer: new OversizePacer(contended) } : {}),
    limitFor,
    worthCutting: (size, maxBytes) => worthCutting(size, maxBytes),
    cut: (parts, size, framing, maxBytes) => inspectionWorkers().cut(parts, size, framing, maxBytes),
  };
}

/** How many request ids `SentCalls` keeps (a call answered past this many others is not cut). */
const KEPT = 4096;

/** The tool each in-flight `tools/call` request id called, from the messages sent. */
export class SentCalls {
  private readonly tools = new Map<string | number, string>();

  note(message: JSONRPCMessage): void {
    if (!('method' in message) || message.method !== 'tools/call' || !('id' in message)) return;
    const name = (message.params as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string') return;
    if (this.tools.size >= KEPT) {
      const oldest = this.tools.keys().next().value;
      if (oldest !== undefined) this.tools.delete(oldest);
    }
    this.tools.set(message.id, name);
  }

  /** The tool `id` called, forgotten once asked (an answer comes once). */
  take(id: string | number): string | undefined {
    const tool = this.tools.get(id);
    this.tools.delete(id);
    return tool;
  }
}
