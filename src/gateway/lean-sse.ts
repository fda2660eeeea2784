/**
 * The SDK's Streamable HTTP client reads every SSE answer through a pipeline
 * of two web TransformStreams built per request (`TextDecoderStream`, then
 * `EventSourceParserStream`), each chunk and event passing through their
 * promise machinery, and a thrown-and-caught error when the decoder ends. On
 * an HTTP upstream, where every `tools/call` answer is such a stream, that was
 * a measurable share of the gateway's CPU per call (bench/README.md, gateway,
 * third round). This reads the same stream with one reader, a streaming
 * `TextDecoder` and the same SSE parser (eventsource-parser's `createParser`,
 * which `EventSourceParserStream` wraps), and does with each event exactly
 * what the SDK does: resumption tokens, priming events, `retry`, message
 * validation with the SDK's own schema, and the same reconnection rule.
 * Chunks with no line end are held as bytes and decoded with the chunk that
 * ends their line, so a long event is decoded and parsed once, not in pieces;
 * bytes that are all ASCII (most JSON) are read as text by a native copy.
 *
 * The SDK offers no option for it; the method is replaced on the instance,
 * and if the SDK's internals change, connecting fails loudly here instead of
 * silently reading streams some other way.
 */

import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterLastLineEnd, asciiText, CR, joined, LF, SPACE, WHOLE } from './lean-sse-bytes.js';

interface StreamOptions {
  onresumptiontoken?: (token: string) => void;
  replayMessageId?: string | number;
}

interface ReconnectOptions extends StreamOptions {
  resumptionToken?: string;
}

/** The SDK transport's private members this file relies on (checked in `useLeanSse`). */
interface SdkInternals {
  _handleSseStream(
    stream: ReadableStream<Uint8Array> | null,
    options: StreamOptions,
    isReconnectable: boolean,
  ): void;
  _scheduleReconnection(options: ReconnectOptions, attemptCount?: number): void;
  _abortController?: AbortController;
  _serverRetryMs?: number;
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
}

export interface LeanSseOptions {
  /**
   * Parses the data of a long event (`LONG_EVENT` characters or more) as `JSON.parse` would, the
   * value or the error: the gateway has it done in an inspection worker (worker/pool.ts
   * `parseJson`), so a neighbour's megabytes are not allocated afresh on the event loop.
   */
  parseLong?: (text: string) => Promise<unknown>;
  /**
   * Takes a long `data:` line's value as its bytes, all ASCII (`LONG_EVENT` or more), before the
   * reader's buffer is reused: the gateway copies them into an inspection worker's slab (worker/pool.ts
   * `holdJson`), and the event's JSON is parsed there from the bytes, so the text is never made a
   * string on the event loop. Undefined: not taken (decoded here as before).
   */
  holdLong?: (bytes: Uint8Array) => HeldText | undefined;
}

/** A long data line's value held aside (see `holdLong`); worker/pool.ts `HeldJson`. */
export interface HeldText {
  /** Characters. */
  readonly length: number;
  /** The text, as decoded here it would be. */
  text(): string;
  /** What `JSON.parse` of the text gives (the value, or the very error); lets the text go. */
  parse(): Promise<unknown>;
  /** Lets the text go unread. */
  release(): void;
}

/** Makes `transport` read its SSE streams with `readSse` below. Call before connecting. */
export function useLeanSse(transport: StreamableHTTPClientTransport, options: LeanSseOptions = {}): void {
  const internals = transport as unknown as Partial<SdkInternals>;
  if (
    typeof internals._handleSseStream !== 'function' ||
    typeof internals._scheduleReconnection !== 'function'
  ) {
    throw new Error('the MCP SDK Streamable HTTP client changed: its SSE reader cannot be replaced');
  }
  const sdk = internals as SdkInternals;
  sdk._handleSseStream = (stream, streamOptions, isReconnectable) => {
    if (!stream) return;
    void readSse(sdk, stream, streamOptions, isReconnectable, options);
  };
}

async function readSse(
  t: SdkInternals,
  stream: ReadableStream<Uint8Array>,
  options: StreamOptions,
  isReconnectable: boolean,
  { parseLong, holdLong }: LeanSseOptions,
): Promise<void> {
  const { onresumptiontoken, replayMessageId } = options;
  /**
   * Long data lines held aside (`holdLong`), by the placeholder fed to the parser in their place:
   * `marker` and a number, a marker the stream was checked not to hold.
   */
  const holds = new Map<string, HeldText>();
  // Drawn at the stream's first chunk that could hold a long line: a draw per stream cost every
  // call about 1% of the gateway's CPU, and most answers are short.
  let marker = '';
  let nextHold = 0;
  let lastEventId: string | undefined;
  // Per spec, a server SHOULD send a priming event with an id before closing a resumable stream.
  let hasPrimingEvent = false;
  // Reconnection is for a server that disconnects BEFORE sending the response.
  let receivedResponse = false;
  // Events the parser found in what it was last fed, handed on in order by `handOn`.
  const found: EventSourceMessage[] = [];
  const handOn = async () => {
    for (let event = found.shift(); event; event = found.shift()) {
      const held = holds.size > 0 ? heldIn(event) : undefined;
      if (held) {
        if ('text' in held) event = held.event;
        else {
          // One data line, held aside: parsed from its bytes, in turns of their own as below.
          await nextTurn();
          const parsed = await parseHeld(event, held.exact);
          await nextTurn();
          onEvent(event, parsed);
          continue;
        }
      }
      if (event.data.length < LONG_EVENT) {
        onEvent(event);
        continue;
      }
      // A long event: parsed and handed on in turns of their own, so the event loop every agent
      // shares is let go between decoding it, parsing it and what its answer sets off.
      await nextTurn();
      const parsed = parseLong ? await parseAside(event, parseLong) : parse(event);
      await nextTurn();
      onEvent(event, parsed);
    }
  };
  const parse = (event: EventSourceMessage): { value: unknown } | { error: unknown } | undefined => {
    if (!event.data || (event.event && event.event !== 'message')) return undefined;
    try {
      return { value: JSON.parse(event.data) };
    } catch (error) {
      return { error };
    }
  };
  /** `parse`, by `parseLong`. */
  const parseAside = async (
    event: EventSourceMessage,
    parseLong: (text: string) => Promise<unknown>,
  ): Promise<{ value: unknown } | { error: unknown } | undefined> => {
    if (!event.data || (event.event && event.event !== 'message')) return undefined;
    try {
      return { value: await parseLong(event.data) };
    } catch (error) {
      return { error };
    }
  };
  /** `parse`, of an event whose one data line is `held`. */
  const parseHeld = async (
    event: EventSourceMessage,
    held: HeldText,
  ): Promise<{ value: unknown } | { error: unknown } | undefined> => {
    if (event.event && event.event !== 'message') {
      held.release();
      return undefined;
    }
    try {
      return { value: await held.parse() };
    } catch (error) {
      return { error };
    }
  };
  /**
   * The held text of `event`: its data is one placeholder (`exact`), or placeholders among other
   * data lines, each put back as its text (`text`: the event as it came); undefined: none.
   */
  const heldIn = (
    event: EventSourceMessage,
  ): { exact: HeldText } | { text: true; event: EventSourceMessage } | undefined => {
    if (!event.data.includes(marker)) return undefined;
    const exact = holds.get(event.data);
    if (exact) {
      holds.delete(event.data);
      return { exact };
    }
    const data = event.data.replace(new RegExp(`${marker}\\d+`, 'g'), (key) => {
      const held = holds.get(key);
      if (!held) return key;
      holds.delete(key);
      const text = held.text();
      held.release();
      return text;
    });
    return { text: true, event: { ...event, data } };
  };
  /**
   * The text of whole lines of ASCII `bytes`, each long `data:` line's value held aside (`holdLong`)
   * and a placeholder in its place; as `asciiText` when none is. Only when the parser holds no part
   * of a line (`clean`) and `bytes` no `\r` (a line end the placeholder could move) nor the marker.
   */
  const placeheld = (bytes: Uint8Array): string => {
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // A long line is whole in one chunk (`clean`): a shorter chunk holds none.
    if (!holdLong || !clean || view.length < LONG_EVENT + 6 || view.indexOf(CR) >= 0) return asciiText(bytes);
    if (!marker) marker = `bulkhead-held-${randomBytes(12).toString('hex')}-`;
    if (view.indexOf(marker, 0, 'latin1') >= 0) return asciiText(bytes);
    const pieces: string[] = [];
    let from = 0;
    for (let at = 0; at < view.length; ) {
      const lf = view.indexOf(LF, at);
      if (lf < 0) break;
      if (lf - at >= LONG_EVENT + 5 && view.toString('latin1', at, at + 5) === 'data:') {
        const start = view[at + 5] === SPACE ? at + 6 : at + 5;
        const held = lf - start >= LONG_EVENT ? holdLong(bytes.subarray(start, lf)) : undefined;
        if (held) {
          const key = `${marker}${nextHold++}`;
          holds.set(key, held);
          pieces.push(asciiText(bytes.subarray(from, at)), `data:${key}`);
          from = lf;
        }
      }
      at = lf + 1;
    }
    if (pieces.length === 0) return asciiText(bytes);
    pieces.push(asciiText(bytes.subarray(from)));
    return pieces.join('');
  };
  const onEvent = (event: EventSourceMessage, parsed = parse(event)) => {
    if (event.id) {
      lastEventId = event.id;
      hasPrimingEvent = true;
      onresumptiontoken?.(event.id);
    }
    // Priming events and keep-alives carry no data (`parse` gives nothing for them and for other events).
    if (!parsed) return;
    try {
      if ('error' in parsed) throw parsed.error;
      const message = JSONRPCMessageSchema.parse(parsed.value);
      if (isJSONRPCResultResponse(message)) {
        receivedResponse = true;
        if (replayMessageId !== undefined) message.id = replayMessageId;
      }
      t.onmessage?.(message);
    } catch (error) {
      t.onerror?.(error as Error);
    }
  };
  const parser = createParser({
    onEvent: (event) => found.push(event),
    onRetry: (retryMs) => {
      t._serverRetryMs = retryMs;
    },
  });
  const reconnect = () => {
    // Reconnect if the stream can resume (a GET stream, or a POST stream that sent an event id),
    // unless its response already came: then the request is complete.
    const canResume = isReconnectable || hasPrimingEvent;
    if (!canResume || receivedResponse || !t._abortController || t._abortController.signal.aborted) return;
    try {
      t._scheduleReconnection({ resumptionToken: lastEventId, onresumptiontoken, replayMessageId }, 0);
    } catch (error) {
      t.onerror?.(
        new Error(`Failed to reconnect: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  };
  let decoder = new TextDecoder();
  const reader = stream.getReader();
  // Bytes after the last line end: no line, so no event, can complete before one arrives. Only
  // whole lines are fed to the parser, which otherwise keeps a line's start and, when its end
  // came, joined the two into a copy of the whole line: a second copy of a long event's text,
  // fresh memory (page faults) each time.
  let held: Uint8Array[] = [];
  let heldSize = 0;
  // Whether `decoder` holds no part of a character (it has only been given bytes ending in ASCII),
  // and whether it has given any text (past where a byte order mark is dropped).
  let settled = true;
  let begun = false;
  // Whether what the parser was last fed ends in a line feed: then it holds no part of a line.
  let clean = true;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const end = afterLastLineEnd(value);
      if (end < 0) {
        held.push(value);
        heldSize += value.length;
        continue;
      }
      const lines = end === value.length ? value : value.subarray(0, end);
      const wasHeld = held.length > 0;
      const bytes = wasHeld ? joined(held, heldSize, lines) : lines;
      held = end === value.length ? [] : [value.subarray(end)];
      heldSize = value.length - end;
      // Bytes all ASCII, with no part of a character pending before them: their text is their bytes,
      // read by a native copy. ASCII holds no byte order mark; past this point none is dropped, so
      // the decoder used after it is one that drops none, as the streaming decoder would no longer
      // do once it had given text.
      if (settled && isAscii(bytes)) {
        parser.feed(bytes.length >= LONG_EVENT ? placeheld(bytes) : asciiText(bytes));
        clean = bytes[bytes.length - 1] === LF;
        if (!begun) {
          decoder = new TextDecoder('utf-8', { ignoreBOM: true });
          begun = true;
        }
        await handOn();
        continue;
      }
      // A whole long event: decoded by the one-shot decoder when that gives exactly what the
      // streaming one would (nothing pending before, an ASCII byte last, the start of the stream
      // behind), which Node decodes several times faster than a decoder once used to stream.
      if (wasHeld && settled && begun && (bytes[bytes.length - 1] as number) < 0x80) {
        parser.feed(WHOLE.decode(bytes));
        clean = bytes[bytes.length - 1] === LF;
        await handOn();
        continue;
      }
      const text = decoder.decode(bytes, { stream: true });
      if (bytes.length > 0) settled = (bytes[bytes.length - 1] as number) < 0x80;
      if (text) begun = true;
      parser.feed(text);
      if (text) clean = text.endsWith('\n');
      await handOn();
    }
    const rest = decoder.decode(held.length > 0 ? joined(held, heldSize) : undefined);
    if (rest) parser.feed(rest);
    await handOn();
  } catch (error) {
    // Most likely a network disconnect.
    t.onerror?.(new Error(`SSE stream disconnected: ${error}`));
  } finally {
    // Held lines no event took (an event never ended, the stream broke): let go.
    for (const held of holds.values()) held.release();
    holds.clear();
  }
  reconnect();
}

/**
 * Events of at least this many characters are parsed and handed on each in a turn of the event loop
 * of its own (`handOn`): a neighbour's answer of megabytes not cut to a budget (one under its
 * `max_output`) otherwise held the loop for its decode, `JSON.parse` and what the answer set off
 * in one stretch (bench/README.md, neighbours, 1 Dec 19:00).
 */
export const LONG_EVENT = 256 * 1024;
