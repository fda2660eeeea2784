/**
 * Bounded, linear reading of a stdio upstream's messages (newline-delimited
 * JSON-RPC), replacing the SDK's read buffer inside its stdio client
 * transport.
 *
 * The SDK's buffer concatenates every chunk onto everything not yet parsed
 * (quadratic: a 9 MB line costs hundreds of MB of copying, stalling every
 * other call), and a line over its limit throws, which closes the transport
 * and kills the upstream: one large result dropped the connection for all.
 * Here chunks are kept as they come and joined once per line; a line over the
 * limit is skipped to its newline without being kept, and answered in its
 * place by a JSON-RPC error for the request it answered (its id is read from
 * the line's first or last bytes), so that call fails at once and the
 * connection stays up.
 *
 * A line over the large-message threshold that answers a tool call is read by
 * a worker thread instead (large-messages.ts): it comes back cut to the tool's
 * budget and is delivered on its own, after the lines behind it if the worker
 * takes longer (answers to different requests may arrive in any order).
 */
import { deserializeMessage, ReadBuffer } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { LargeMessages } from './large-messages.js';

/** JSON-RPC error code of a message that was too large to read (server-defined range). */
export const MESSAGE_TOO_LARGE = -32_090;

/** How many bytes of an oversized line are kept at each end, to find its id. */
const EDGE = 256;
const NEWLINE = 0x0a;

type Id = string | number;

export class BoundedReadBuffer extends ReadBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Set while skipping a line over the limit: its first and last bytes. */
  private skipping: { head: Buffer; tail: Buffer; bytes: number } | undefined;
  private readonly ready: (Buffer | JSONRPCMessage)[] = [];

  constructor(
    private readonly limit: number,
    /** Reading large answers in a worker: which tool an id called, and where messages go. */
    private readonly large?: {
      messages: LargeMessages;
      toolOf: (id: Id) => string | undefined;
      deliver: (message: JSONRPCMessage) => void;
    },
  ) {
    super({ maxBufferSize: Number.MAX_SAFE_INTEGER });
  }

  override append(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.keep(chunk.subarray(start));
        return;
      }
      this.keep(chunk.subarray(start, newline));
      this.endLine();
      start = newline + 1;
    }
  }

  override readMessage(): JSONRPCMessage | null {
    const next = this.ready.shift();
    if (next === undefined) return null;
    if (!Buffer.isBuffer(next)) return next;
    let end = next.length;
    if (end > 0 && next[end - 1] === 0x0d) end--;
    return deserializeMessage(next.toString('utf8', 0, end));
  }

  override clear(): void {
    this.chunks = [];
    this.size = 0;
    this.skipping = undefined;
    this.ready.length = 0;
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    if (this.skipping) {
      this.skipping.bytes += part.length;
      this.skipping.tail =
        part.length >= EDGE
          ? lastBytes(part, EDGE)
          : lastBytes(Buffer.concat([this.skipping.tail, part]), EDGE);
      return;
    }
    if (this.size + part.length <= this.limit) {
      this.chunks.push(part);
      this.size += part.length;
      return;
    }
    const held = Buffer.concat([...this.chunks, part]);
    this.skipping = {
      head: Buffer.from(held.subarray(0, EDGE)),
      tail: lastBytes(held, EDGE),
      bytes: held.length,
    };
    this.chunks = [];
    this.size = 0;
  }

  private endLine(): void {
    if (this.skipping) {
      const { head, tail, bytes } = this.skipping;
      this.skipping = undefined;
      const id = idOf(head.toString('utf8'), tail.toString('utf8'));
      // Without an id nothing can be answered: the call it belonged to runs into its timeout.
      if (id !== undefined) {
        this.ready.push({
          jsonrpc: '2.0',
          id,
          error: {
            code: MESSAGE_TOO_LARGE,
            message: `message of ${bytes} bytes exceeds the ${this.limit}-byte limit`,
          },
        });
      }
      return;
    }
    if (this.size === 0) return;
    const parts = this.chunks;
    const size = this.size;
    this.chunks = [];
    this.size = 0;
    if (this.divert(parts, size)) return;
    this.ready.push(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size));
  }

  /**
   * Hands a large answer to a tool call to a worker; false when it is read here as usual. The
   * line's pieces go to the worker as they are (copied into its slab, worker/slabs.ts), joined
   * here only if nothing was cut.
   */
  private divert(parts: Buffer[], size: number): boolean {
    const large = this.large;
    if (!large || size <= large.messages.threshold) return false;
    const id = idOf(edge(parts, 'head'), edge(parts, 'tail'));
    const tool = id === undefined ? undefined : large.toolOf(id);
    const maxBytes = tool === undefined ? undefined : large.messages.limitFor(tool);
    if (id === undefined || maxBytes === undefined || !large.messages.worthCutting(size, maxBytes))
      return false;
    large.messages.cut(parts, size, 'line', maxBytes).then(
      (cut) => {
        const text = 'text' in cut ? cut.text : Buffer.concat(parts, size).toString('utf8');
        let message: JSONRPCMessage;
        try {
          message = deserializeMessage(text.trimEnd());
        } catch {
          return large.deliver(unreadable(id, 'the answer is not a valid JSON-RPC message'));
        }
        large.deliver(message);
      },
      // The worker died: the call fails (never answered with something unread).
      () => large.deliver(unreadable(id, 'the answer could not be read')),
    );
    return true;
  }
}

function unreadable(id: Id, message: string): JSONRPCMessage {
  return { jsonrpc: '2.0', id, error: { code: -32_603, message } };
}

/** The first or last `EDGE` bytes of a line held as pieces, as text (where its id is). */
function edge(parts: readonly Buffer[], which: 'head' | 'tail'): string {
  const picked: Buffer[] = [];
  let size = 0;
  for (let i = 0; i < parts.length && size < EDGE; i++) {
    const part = parts[which === 'head' ? i : parts.length - 1 - i] as Buffer;
    if (which === 'head') picked.push(part);
    else picked.unshift(part);
    size += part.length;
  }
  const joined = Buffer.concat(picked);
  return which === 'head'
    ? joined.toString('utf8', 0, EDGE)
    : joined.toString('utf8', Math.max(0, joined.length - EDGE));
}

function lastBytes(buffer: Buffer, n: number): Buffer {
  return Buffer.from(buffer.subarray(Math.max(0, buffer.length - n)));
}

const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
/** `{"jsonrpc":"2.0","id":…` or `{"id":…` at the very start: the top-level id. */
const HEAD_ID = new RegExp(String.raw`^\s*\{(?:\s*"jsonrpc"\s*:\s*"2\.0"\s*,)?\s*"id"\s*:\s*${ID}`);
/** `…"id":7}` closing the line: only the top-level object can end the line. */
const TAIL_ID = new RegExp(String.raw`"id"\s*:\s*${ID}\s*\}\s*$`);

export function idOf(head: string, tail: string): Id | undefined {
  const match = HEAD_ID.exec(head) ?? TAIL_ID.exec(tail);
  const raw = match?.[1];
  if (raw === undefined) return undefined;
  try {
    const id = JSON.parse(raw) as unknown;
    return typeof id === 'string' || typeof id === 'number' ? id : undefined;
  } catch {
    return undefined;
  }
}
