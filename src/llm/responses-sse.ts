/**
 * A Responses API stream (`/v1/responses`, `stream: true`), read and scrubbed
 * event by event. Every string the API streams in pieces arrives as an event
 * whose type ends in `.delta` with a string `delta` (output text, refusals,
 * function call arguments, custom tool input, reasoning and its summary,
 * ...), and ends with the matching `.done` event, which repeats the whole
 * string. Each such string goes through one streaming scrubber, keyed by its
 * delta type, `output_index` and `content_index`/`summary_index`; what it
 * held back is sent as one more delta just before its `.done` (or before the
 * response's final event). Everything else (`.done` events and the items,
 * parts and whole response they carry, errors, unknown events) is scrubbed as
 * a value, whole, so a secret the deltas split is masked in the assembled
 * copies too.
 *
 * Usage arrives only in the final event (`response.completed`, or
 * `response.incomplete` / `response.failed`): `response.usage`.
 */
import type { Scrubber } from '../scrub/index.js';
import { isObject, type Json } from './json.js';
import { responsesUsage } from './responses.js';
import { eventName, HeldText, type SseDialect, textEvent } from './scrubbed-sse.js';
import { responsesCalls } from './server-tool-fees.js';
import { formatSse, type SseEvent } from './sse.js';
import { StreamUsage } from './usage.js';

/** The events that end a response (its usage is in `response.usage`). */
const FINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

const isDelta = (data: Json): data is Json & { type: string; delta: string } =>
  typeof data.type === 'string' && data.type.endsWith('.delta') && typeof data.delta === 'string';

/** Which streamed string an event belongs to: its delta type and position. */
function keyOf(deltaType: string, data: Json): string {
  const part = data.content_index ?? data.summary_index ?? '';
  return `${deltaType}|${String(data.output_index ?? '')}|${String(part)}`;
}

export class ResponsesUsageTracker extends StreamUsage {
  observe(data: unknown): void {
    if (!isObject(data)) return;
    if (isDelta(data)) {
      this.generatedChars += data.delta.length;
      return;
    }
    if (typeof data.type === 'string' && FINAL.has(data.type)) {
      const response = isObject(data.response) ? data.response : {};
      if (data.type === 'response.failed') {
        const error = isObject(response.error) ? response.error : {};
        this.errorType = typeof error.code === 'string' ? error.code : 'api_error';
      }
      // Without its usage the end is not a settlement: what was seen is charged instead.
      if (isObject(response.usage)) {
        // The final response lists every output item once, the built-in tool calls among them.
        this.usage = { ...responsesUsage(response.usage), server_tool_calls: responsesCalls(response) };
        this.reported = true;
        this.complete = true;
      }
    } else if (data.type === 'error') {
      this.errorType = typeof data.code === 'string' ? data.code : 'api_error';
    }
  }
}

export function responsesDialect(scrubber: Scrubber): SseDialect {
  const held = new HeldText(scrubber);
  /** The last delta event of each streamed string, to frame what it held back. */
  const last = new Map<string, Json>();
  const send = (event: SseEvent | undefined, data: Json) =>
    formatSse(eventName(event?.event ?? String(data.type), scrubber), JSON.stringify(data));
  /** `data` scrubbed as a value, with its `delta` replaced by the scrubbed stream piece. */
  const withPiece = (data: Json, piece: string): Json => {
    const copy = scrubber.value({ ...data, delta: '' });
    copy.delta = piece;
    return copy;
  };
  const flushed = (key: string): string => {
    const rest = held.flush(key);
    const template = last.get(key);
    last.delete(key);
    if (!rest || !template) return '';
    return send(undefined, withPiece(template, rest));
  };
  const flushAll = () => {
    let out = '';
    for (const key of held.keys()) out += flushed(key);
    return out;
  };
  return {
    event(event, data) {
      if (!isObject(data)) return textEvent(event, scrubber);
      if (isDelta(data)) {
        const key = keyOf(data.type, data);
        const piece = held.push(key, data.delta);
        last.set(key, data);
        return piece ? send(event, withPiece(data, piece)) : '';
      }
      let before = '';
      if (typeof data.type === 'string' && data.type.endsWith('.done'))
        before = flushed(keyOf(`${data.type.slice(0, -'.done'.length)}.delta`, data));
      else if (typeof data.type === 'string' && FINAL.has(data.type)) before = flushAll();
      return before + send(event, scrubber.value(data));
    },
    end: flushAll,
  };
}

/** One `error` event in the Responses API's stream shape, for a stream bulkhead has to end. */
export function responsesStreamError(type: string, message: string): Uint8Array {
  return new TextEncoder().encode(
    formatSse(
      'error',
      JSON.stringify({ type: 'error', code: type, message, param: null, sequence_number: 0 }),
    ),
  );
}
