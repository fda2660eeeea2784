/**
 * The Messages API's events that carry no model text, and Chat Completions
 * chunks with their text taken out (openai.ts), matched against their
 * documented shape so that only the strings the API chooses are scrubbed.
 * Scrubbing such an event as a value costs one scan per key and per string
 * (about 20 for `message_start`, ~10 µs each): on the path to the agent's
 * first byte, that was the largest cost of the proxy's own.
 *
 * A shape lists every key an object may have. An event whose every key is
 * listed, whose fixed names are the documented ones, and whose numbers are
 * numbers, is rebuilt from the shape: its keys and fixed names come from
 * here, its numbers are copied, and each free string (an id, the model, a
 * stop sequence) is scrubbed. Anything else (an unknown key, an unexpected
 * name, a string where a number belongs) does not match, and the caller
 * scrubs the whole event as a value, as before. So nothing reaches the agent
 * unscrubbed that the API did not put in a documented fixed field.
 */
import type { Scrubber } from '../scrub/index.js';

const NO: unique symbol = Symbol('no match');
type Shape = (value: unknown, scrubber: Scrubber) => unknown;

/** A number (or null): counts never carry text. */
const count: Shape = (v) => (v === null || (typeof v === 'number' && Number.isFinite(v)) ? v : NO);

/** A string the API chooses (or null): scrubbed (the empty string holds nothing to scrub). */
const free: Shape = (v, scrubber) =>
  v === null || v === '' ? v : typeof v === 'string' ? scrubber.text(v) : NO;

const nothing: Shape = (v) => (v === null ? null : NO);

/** One of the documented names. */
const name =
  (...names: string[]): Shape =>
  (v) =>
    typeof v === 'string' && names.includes(v) ? v : NO;

const orNull =
  (shape: Shape): Shape =>
  (v, scrubber) =>
    v === null ? null : shape(v, scrubber);

const emptyList: Shape = (v) => (Array.isArray(v) && v.length === 0 ? [] : NO);

const list =
  (item: Shape): Shape =>
  (v, scrubber) => {
    if (!Array.isArray(v)) return NO;
    const out: unknown[] = [];
    for (const entry of v) {
      const value = item(entry, scrubber);
      if (value === NO) return NO;
      out.push(value);
    }
    return out;
  };

function object(fields: Readonly<Record<string, Shape>>): Shape {
  return (v, scrubber) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return NO;
    const out: Record<string, unknown> = {};
    for (const key in v) {
      // Own keys only, so `__proto__` or `toString` never find a field.
      const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (!field) return NO;
      const value = field((v as Record<string, unknown>)[key], scrubber);
      if (value === NO) return NO;
      out[key] = value;
    }
    return out;
  };
}

const STOP_REASONS = ['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal'];

const usage = object({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count,
  cache_read_input_tokens: count,
  cache_creation: orNull(object({ ephemeral_5m_input_tokens: count, ephemeral_1h_input_tokens: count })),
  server_tool_use: orNull(object({ web_search_requests: count, web_fetch_requests: count })),
  service_tier: orNull(name('standard', 'priority', 'batch')),
});

const SHAPES: Readonly<Record<string, Shape>> = {
  message_start: object({
    type: name('message_start'),
    message: object({
      id: free,
      type: name('message'),
      role: name('assistant'),
      model: free,
      content: emptyList,
      stop_reason: orNull(name(...STOP_REASONS)),
      stop_sequence: free,
      usage,
    }),
  }),
  message_delta: object({
    type: name('message_delta'),
    delta: object({ stop_reason: orNull(name(...STOP_REASONS)), stop_sequence: free }),
    usage,
  }),
  content_block_stop: object({ type: name('content_block_stop'), index: count }),
  message_stop: object({ type: name('message_stop') }),
  ping: object({ type: name('ping') }),
};

/**
 * A Chat Completions chunk, its streamed text (`delta.content`) already taken out by the caller.
 * A chunk with tool calls, log probabilities or anything undocumented does not match.
 */
const chatChunk = object({
  id: free,
  object: name('chat.completion.chunk'),
  created: count,
  model: free,
  system_fingerprint: free,
  service_tier: orNull(name('default', 'auto', 'flex', 'scale', 'priority')),
  obfuscation: free,
  choices: list(
    object({
      index: count,
      delta: object({ role: orNull(name('assistant')), content: free, refusal: free }),
      logprobs: nothing,
      finish_reason: orNull(name('stop', 'length', 'tool_calls', 'content_filter', 'function_call')),
    }),
  ),
  usage: orNull(
    object({
      prompt_tokens: count,
      completion_tokens: count,
      total_tokens: count,
      prompt_tokens_details: orNull(object({ cached_tokens: count, audio_tokens: count })),
      completion_tokens_details: orNull(
        object({
          reasoning_tokens: count,
          audio_tokens: count,
          accepted_prediction_tokens: count,
          rejected_prediction_tokens: count,
        }),
      ),
    }),
  ),
});

/** `chunk` rebuilt with its free strings scrubbed when it has the documented shape; else undefined. */
export function scrubKnownChunk(
  chunk: Record<string, unknown>,
  scrubber: Scrubber,
): Record<string, unknown> | undefined {
  const out = chatChunk(chunk, scrubber);
  return out === NO ? undefined : (out as Record<string, unknown>);
}

/**
 * `data` rebuilt with its free strings scrubbed, when it is one of the text-free events in its
 * documented shape; undefined otherwise (the caller scrubs it whole).
 */
export function scrubKnownEvent(data: Record<string, unknown>, scrubber: Scrubber): unknown {
  const shape =
    typeof data.type === 'string' && Object.hasOwn(SHAPES, data.type) ? SHAPES[data.type] : undefined;
  if (!shape) return undefined;
  const out = shape(data, scrubber);
  return out === NO ? undefined : out;
}
