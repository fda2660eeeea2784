/**
 * How a Messages API stream is scrubbed event by event. The strings the SDKs
 * concatenate across events (a text block's `text`, a tool_use block's
 * `partial_json`, a thinking block's `thinking`, each starting with whatever
 * `content_block_start` carried) go through one streaming scrubber per block;
 * what a block held back is sent as one more delta just before its
 * `content_block_stop` (or before `message_stop` for a block never stopped).
 * Everything else (message_start with its usage, signatures, citations,
 * errors, unknown events) is scrubbed as a value, whole.
 *
 * The common event, a text delta, takes a fast path: its only other strings
 * are the API's fixed type names, so only the text is scanned. So do a text
 * block's start and the events that carry no text at all (message_start,
 * ping, message_delta, the stops) when they have their documented shape
 * (event-shapes.ts): the first byte the agent reads is not held back by a
 * scan per key of message_start.
 */
import type { Scrubber } from '../scrub/index.js';
import { scrubKnownEvent } from './event-shapes.js';
import { eventName, HeldText, type SseDialect, textEvent } from './scrubbed-sse.js';
import { formatSse, type SseEvent } from './sse.js';

type Field = 'text' | 'partial_json' | 'thinking';

const FIELD_OF_DELTA: Readonly<Record<string, Field>> = {
  text_delta: 'text',
  input_json_delta: 'partial_json',
  thinking_delta: 'thinking',
};
const DELTA_OF_FIELD: Readonly<Record<Field, string>> = {
  text: 'text_delta',
  partial_json: 'input_json_delta',
  thinking: 'thinking_delta',
};
/** Block types whose `content_block_start` string is the first piece of what the deltas extend. */
const FIELD_OF_BLOCK: Readonly<Record<string, Field>> = { text: 'text', thinking: 'thinking' };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Json, allowed: readonly string[]): boolean {
  for (const key in value) if (!allowed.includes(key)) return false;
  return true;
}

export function anthropicDialect(scrubber: Scrubber): SseDialect {
  const held = new HeldText(scrubber);
  const key = (index: number, field: Field) => `${index}:${field}`;
  const send = (event: SseEvent, data: unknown) =>
    formatSse(eventName(event.event, scrubber), JSON.stringify(data));

  /** A delta carrying what a block held back. */
  const flushed = (index: number, field: Field): string => {
    const rest = held.flush(key(index, field));
    if (!rest) return '';
    const delta = { type: DELTA_OF_FIELD[field], [field]: rest };
    return formatSse('content_block_delta', JSON.stringify({ type: 'content_block_delta', index, delta }));
  };
  const flushBlock = (index: number) =>
    flushed(index, 'text') + flushed(index, 'partial_json') + flushed(index, 'thinking');
  const flushAll = () => {
    let out = '';
    for (const k of held.keys()) {
      const [index, field] = k.split(':') as [string, Field];
      out += flushed(Number(index), field);
    }
    return out;
  };

  /** `data` scrubbed as a value, with `holder[field]` replaced by the scrubbed stream piece instead. */
  const withStreamed = (data: Json, holderKey: string, field: Field, piece: string): Json => {
    const holder = data[holderKey] as Json;
    const copy = scrubber.value({ ...data, [holderKey]: { ...holder, [field]: '' } });
    (copy[holderKey] as Json)[field] = piece;
    return copy;
  };

  return {
    event(event, data) {
      if (!isObject(data)) return textEvent(event, scrubber);
      const index = data.index;
      const indexed = typeof index === 'number' && Number.isSafeInteger(index) && index >= 0;
      if (data.type === 'content_block_delta' && indexed && isObject(data.delta)) {
        const delta = data.delta;
        const field = typeof delta.type === 'string' ? FIELD_OF_DELTA[delta.type] : undefined;
        if (field && typeof delta[field] === 'string') {
          const piece = held.push(key(index, field), delta[field] as string);
          if (onlyKeys(data, ['type', 'index', 'delta']) && onlyKeys(delta, ['type', field])) {
            // Fast path: nothing else in the event can carry text.
            if (!piece) return '';
            return send(event, {
              type: 'content_block_delta',
              index,
              delta: { type: delta.type, [field]: piece },
            });
          }
          return send(event, withStreamed(data, 'delta', field, piece));
        }
      }
      if (data.type === 'content_block_start' && indexed && isObject(data.content_block)) {
        const block = data.content_block;
        const field = typeof block.type === 'string' ? FIELD_OF_BLOCK[block.type] : undefined;
        if (field && typeof block[field] === 'string') {
          const piece = held.push(key(index, field), block[field] as string);
          if (onlyKeys(data, ['type', 'index', 'content_block']) && onlyKeys(block, ['type', field])) {
            // Fast path, as for deltas: the block's type is one of FIELD_OF_BLOCK's names.
            return send(event, {
              type: 'content_block_start',
              index,
              content_block: { type: block.type, [field]: piece },
            });
          }
          return send(event, withStreamed(data, 'content_block', field, piece));
        }
      }
      let before = '';
      if (data.type === 'content_block_stop' && indexed) before = flushBlock(index);
      else if (data.type === 'message_stop') before = flushAll();
      return before + send(event, scrubKnownEvent(data, scrubber) ?? scrubber.value(data));
    },
    end: flushAll,
  };
}
