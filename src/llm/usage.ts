/**
 * Usage accounting for Anthropic Messages responses. In a stream,
 * `message_start` carries the input (and cache) counts and `message_delta`
 * carries output counts that are CUMULATIVE: the last one seen is the total,
 * summing them would double-charge. A stream cut mid-way is charged for what
 * was reported so far.
 */
import { quantizeUsd } from '../budget/thresholds.js';
import type { Budgets } from '../policy/schema/profile.js';
import { feesUsd, messagesCalls, mostCalls, type ToolCalls } from './server-tool-fees.js';

export interface MessageUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  /** Server tool uses the answer reported (or, cut, could have made), billed per use. */
  server_tool_calls?: ToolCalls;
}

export const EMPTY_USAGE: MessageUsage = {
  input_tokens: 0,
  output_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
};

export interface Price {
  input: number;
  output: number;
  cache_write?: number | undefined;
  cache_read?: number | undefined;
  /** USD per use of each server tool family (server-tool-fees.ts), whatever the model. */
  tools?: Readonly<ToolCalls>;
}

function n(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/**
 * Merges a usage object from the API into what is known; present fields overwrite (they are totals).
 * A request that sampled more than once (compaction summarising the conversation first, with
 * `context_management`) reports each pass in `iterations`, and its top-level counts leave the
 * compaction pass out: 180,000 tokens read to summarise were charged as the 23,000 of the answer.
 * Each count is at least the sum of the passes.
 */
export function mergeUsage(known: MessageUsage, reported: unknown): MessageUsage {
  if (!reported || typeof reported !== 'object') return known;
  const merged = topLevel(known, reported as Record<string, unknown>);
  const passes = (reported as { iterations?: unknown }).iterations;
  if (!Array.isArray(passes)) return merged;
  const sum = { ...EMPTY_USAGE };
  for (const pass of passes) {
    const p = topLevel(EMPTY_USAGE, pass !== null && typeof pass === 'object' ? pass : {});
    for (const k of USAGE_KEYS) sum[k] += p[k];
  }
  for (const k of USAGE_KEYS) merged[k] = Math.max(merged[k], sum[k]);
  return merged;
}

const USAGE_KEYS = Object.keys(EMPTY_USAGE) as Array<Exclude<keyof MessageUsage, 'server_tool_calls'>>;

function topLevel(known: MessageUsage, r: Record<string, unknown>): MessageUsage {
  // Totals like the token counts: a later report replaces an earlier one.
  const calls = messagesCalls(r.server_tool_use) ?? known.server_tool_calls;
  return {
    ...(calls ? { server_tool_calls: calls } : {}),
    input_tokens: 'input_tokens' in r && r.input_tokens !== null ? n(r.input_tokens) : known.input_tokens,
    output_tokens:
      'output_tokens' in r && r.output_tokens !== null ? n(r.output_tokens) : known.output_tokens,
    cache_read_input_tokens:
      'cache_read_input_tokens' in r && r.cache_read_input_tokens !== null
        ? n(r.cache_read_input_tokens)
        : known.cache_read_input_tokens,
    cache_creation_input_tokens:
      'cache_creation_input_tokens' in r && r.cache_creation_input_tokens !== null
        ? n(r.cache_creation_input_tokens) + longCacheExtra(r.cache_creation)
        : known.cache_creation_input_tokens,
  };
}

/**
 * A cache write kept an hour costs twice the input price, not the 1.25 times a cache write is
 * priced and weighted at: each such token is counted 1.6 times (2 / 1.25), so a prompt cached
 * with `ttl: "1h"` is not charged about 40% less than it cost.
 */
function longCacheExtra(breakdown: unknown): number {
  if (!breakdown || typeof breakdown !== 'object') return 0;
  return Math.ceil(n((breakdown as Record<string, unknown>).ephemeral_1h_input_tokens) * 0.6);
}

/** Tokens charged against the input budget: cache reads and writes count with the profile's weights. */
export function chargedInput(usage: MessageUsage, tokens: Budgets['tokens']): number {
  const readWeight = tokens?.cache_read_weight ?? 0.1;
  const writeWeight = tokens?.cache_write_weight ?? 1.25;
  return Math.ceil(
    usage.input_tokens +
      usage.cache_read_input_tokens * readWeight +
      usage.cache_creation_input_tokens * writeWeight,
  );
}

/**
 * USD for a usage, from prices per million tokens. Cache reads and writes use
 * their own prices when the policy gives them, else the API's published
 * multipliers of the input price (0.1 and 1.25). Quantized, so the ledger's
 * sums stay exact (see `quantizeUsd`).
 */
export function cost(usage: MessageUsage, price: Price | undefined): number {
  if (!price) return 0;
  const perToken = (perMillion: number) => perMillion / 1_000_000;
  return quantizeUsd(
    usage.input_tokens * perToken(price.input) +
      usage.output_tokens * perToken(price.output) +
      usage.cache_read_input_tokens * perToken(price.cache_read ?? price.input * 0.1) +
      usage.cache_creation_input_tokens * perToken(price.cache_write ?? price.input * 1.25) +
      feesUsd(usage.server_tool_calls, price.tools),
  );
}

/**
 * Tokens one image costs at most: the API scales an image down to its model's native
 * resolution and charges a visual token per 28 × 28 pixels. Claude Opus 4.7 reads up to 2,576
 * pixels on the long edge, 4,784 tokens (earlier models 1,568): counted at the 1,600 of the
 * earlier models, a few hundred bytes of PNG at that size were charged three times what was
 * reserved, up to 600 images a request.
 */
export const IMAGE_TOKENS = 4_784;

/**
 * An upper bound of the input tokens of a request, reserved before it is
 * sent (no count_tokens round trip on the way to the first byte): the UTF-8
 * bytes of the JSON of `system`, `messages` and `tools`. A byte-level BPE
 * token covers at least one byte, so no script (CJK, emoji, base64) can pack
 * more tokens than bytes; the JSON syntax around the text pays for the few
 * tokens of message framing. An image is counted at `IMAGE_TOKENS` (the API
 * scales it down to that ceiling), not by its base64 size. A file (a PDF)
 * is bounded by nothing here: spend.ts reserves it at its exact count, or at
 * the largest context window when it cannot be counted. Settlement replaces the bound with the real usage;
 * when the bound does not fit what is left, the proxy asks count_tokens for
 * the exact figure instead (see spend.ts).
 */
export function estimateInputTokens(body: Record<string, unknown>, sentBytes?: number): number {
  return promptBytes(body, sentBytes) + toolPromptTokens(body.tools);
}

/**
 * Tokens the API adds to a request with tools, which its bytes do not hold: the Messages API's
 * tool-use system prompt (346 tokens, documented), and per tool the API defines (bash 245, text
 * editor 700, computer use 735 and a ~500-token system prompt; server tools and the OpenAI
 * built-in ones likewise carry instructions of their own). Ceilings of the published figures:
 * a 60-byte text editor definition was charged 1,046 tokens, so requests sent at once passed an
 * input cap each fitted alone. A client tool (`custom`, `function`, or untyped) is its bytes.
 */
export const TOOL_USE_PROMPT_TOKENS = 500;
export const DEFINED_TOOL_PROMPT_TOKENS = 1_500;

function toolPromptTokens(tools: unknown): number {
  const list = Array.isArray(tools) ? tools : tools === undefined || tools === null ? [] : [tools];
  if (!list.length) return 0;
  let tokens = TOOL_USE_PROMPT_TOKENS;
  for (const tool of list) {
    const type = typeof tool === 'object' && tool !== null ? (tool as { type?: unknown }).type : undefined;
    if (type !== undefined && type !== null && type !== 'custom' && type !== 'function')
      tokens += DEFINED_TOOL_PROMPT_TOKENS;
  }
  return tokens;
}

/** The prompt's UTF-8 bytes, images at their token ceiling (see estimateInputTokens). */
function promptBytes(body: Record<string, unknown>, sentBytes?: number): number {
  // Messages and Chat Completions put the prompt in system/messages, the Responses API in
  // instructions/input (function call outputs included); all of it is counted, whatever the API.
  const prompt = {
    system: body.system ?? '',
    messages: body.messages ?? [],
    tools: body.tools ?? [],
    ...(body.instructions !== undefined ? { instructions: body.instructions } : {}),
    ...(body.input !== undefined ? { input: body.input } : {}),
  };
  // A replacer function makes JSON.stringify about twice as slow on a long conversation, on the
  // path to the first byte; it is only needed when an image is there to be left out. Finding
  // one walks objects and arrays, never the strings' contents.
  if (!holdsImage(prompt, 0)) {
    // The body as sent holds the prompt's parts and is never shorter than they are re-serialised
    // (JSON.stringify writes no whitespace and the fewest escapes), so its size bounds them without a
    // second serialisation of a long conversation on the path to the first byte (~1 ms per 200 KB).
    return sentBytes ?? Buffer.byteLength(JSON.stringify(prompt));
  }
  let images = 0;
  const text = JSON.stringify(prompt, (_key, value: unknown) => {
    if (!isImage(value)) return value;
    const type = (value as { type: unknown }).type;
    images +=
      type === 'image'
        ? IMAGE_TOKENS
        : Math.max(
            type === 'image_url' ? IMAGE_TOKENS : OPENAI_IMAGE_TOKENS,
            Buffer.byteLength(JSON.stringify(value)),
          );
    return undefined;
  });
  return Buffer.byteLength(text) + images;
}

/**
 * Tokens a Responses API image (`input_image`) costs at most: about 1,536 patches times the
 * largest model multiplier (1.62). It is counted at this or at its bytes, whichever is more: a
 * few kilobytes of PNG can hold a large image. A Chat Completions `image_url` part is counted at
 * `IMAGE_TOKENS` or its bytes: that door also serves Claude models (the configured API's
 * OpenAI-compatible endpoint), and a 1-bit PNG of 2,048 pixels square is a few hundred bytes.
 */
export const OPENAI_IMAGE_TOKENS = 2_500;

const isImage = (value: unknown): boolean => {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  return type === 'image' || type === 'input_image' || type === 'image_url';
};

/** Whether an object with `type: 'image'` is anywhere in `value` (a body's nesting is bounded: body.ts). */
function holdsImage(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  // Past any depth body.ts lets through: take the replacer's path rather than recurse further.
  if (depth > 300 || isImage(value)) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsImage(item, depth + 1)) return true;
    return false;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && holdsImage((value as Record<string, unknown>)[key], depth + 1))
      return true;
  }
  return false;
}

/**
 * Usage read from a stream as it passes (the parsed JSON of each event's
 * data, see scrubbed-sse.ts), without holding it back; each API's tracker
 * reads its own events into these fields.
 */
export abstract class StreamUsage {
  usage: MessageUsage = { ...EMPTY_USAGE };
  /** The error type of an error event in the stream (e.g. `overloaded_error`), if one came. */
  errorType: string | undefined;
  /** True once the API's final event arrived: the reported usage is final. */
  complete = false;
  /** Characters of generated content (text, tool input JSON, reasoning) passed so far. */
  protected generatedChars = 0;
  /** Whether the API reported its final usage; an end marker alone is not a settlement. */
  protected reported = false;

  /**
   * `hiddenOutput`: the model may generate output that is billed but never streamed (an OpenAI
   * reasoning model's reasoning, Claude's thinking when only its summary is shown), so what
   * passed by says nothing of what a cut stream cost.
   */
  constructor(private readonly hiddenOutput = false) {}

  /** Takes one event's parsed data. */
  abstract observe(data: unknown): void;

  /**
   * The usage to charge. A complete stream is charged what it reported. A cut
   * one is charged at least what it visibly generated: the APIs report output
   * usage at the end, so a stream cut before it would otherwise cost almost
   * nothing. Generated content is counted at one token per 3 characters
   * (generous, like the input estimate), never more than the `max_tokens` it
   * was sent with; input never reported is charged as reserved.
   */
  charge(maxTokens: number, reservedInput: number, reservedCalls?: ToolCalls): MessageUsage {
    if (this.complete && this.reported) return this.usage;
    // Unknown output that may be hidden costs all it could have been: leaving before the answer
    // shows would otherwise make any amount of reasoning free.
    const seen = this.hiddenOutput ? maxTokens : Math.min(maxTokens, Math.ceil(this.generatedChars / 3));
    const u = this.usage;
    // The OpenAI APIs report input only at the end: a stream cut before it (the agent hanging up
    // is enough) would otherwise send a huge prompt for nothing. It costs what was reserved.
    const inputKnown = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens > 0;
    return {
      ...u,
      ...(inputKnown ? {} : { input_tokens: reservedInput }),
      output_tokens: Math.max(u.output_tokens, seen),
      // A search runs on the API's side before anything of it streams: a cut one may have been made.
      server_tool_calls: mostCalls(u.server_tool_calls, reservedCalls),
    };
  }
}

/**
 * Usage of a Messages stream: `message_start` carries the input counts,
 * `message_delta` the cumulative output, `message_stop` ends it.
 */
export class SseUsageTracker extends StreamUsage {
  observe(data: unknown): void {
    if (!data || typeof data !== 'object') return;
    const parsed = data as {
      type?: string;
      message?: { usage?: unknown };
      usage?: unknown;
      delta?: unknown;
      error?: { type?: unknown };
    };
    if (parsed.type === 'content_block_delta') this.generatedChars += deltaChars(parsed.delta);
    else if (parsed.type === 'message_start') this.usage = mergeUsage(this.usage, parsed.message?.usage);
    else if (parsed.type === 'message_delta') {
      this.usage = mergeUsage(this.usage, parsed.usage);
      if (parsed.usage && typeof parsed.usage === 'object') this.reported = true;
    } else if (parsed.type === 'message_stop') this.complete = true;
    else if (parsed.type === 'error') {
      this.errorType = typeof parsed.error?.type === 'string' ? parsed.error.type : 'api_error';
    }
  }
}

/** Characters of generated content in one `content_block_delta`'s delta. */
function deltaChars(delta: unknown): number {
  if (!delta || typeof delta !== 'object') return 0;
  let n = 0;
  for (const field of ['text', 'partial_json', 'thinking', 'signature'] as const) {
    const value = (delta as Record<string, unknown>)[field];
    if (typeof value === 'string') n += value.length;
  }
  return n;
}

/** One SSE `error` event in the API's shape, for a stream bulkhead has to end. */
export function sseError(type: string, message: string): Uint8Array {
  return new TextEncoder().encode(
    `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`,
  );
}
