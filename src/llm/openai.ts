/**
 * The OpenAI Chat Completions wire format (`/v1/chat/completions`), the
 * second front door of the LLM proxy: same run token, budgets, model
 * allow-list, scrubbing and side-door rules as `/v1/messages`; only the shapes
 * differ. The request goes to the configured API's OpenAI-compatible endpoint
 * (`<base_url>/v1/chat/completions`, which the Anthropic API and most
 * gateways serve) with the real key as a bearer token. Streams ask for usage
 * (`stream_options.include_usage`), which arrives in the last chunk.
 */
import type { ProfileLlm } from '../policy/schema/llm.js';
import type { Scrubber } from '../scrub/index.js';
import { scrubKnownChunk } from './event-shapes.js';
import { isObject, type Json, count as n } from './json.js';
import { eventName, HeldText, type SseDialect, textEvent } from './scrubbed-sse.js';
import { searchModel } from './server-tool-fees.js';
import {
  betaOrFieldDoor,
  dearTierDoor,
  firstPath,
  logprobsDoor,
  type SideDoor,
  sideDoorRefusal,
} from './side-doors.js';
import { formatSse } from './sse.js';
import { EMPTY_USAGE, type MessageUsage, StreamUsage } from './usage.js';

/** max_tokens when the agent sets none: the API needs a bound to reserve against. */
export const DEFAULT_MAX_TOKENS = 4096;

const KNOWN_FIELDS = new Set([
  'model',
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'n',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'user',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'seed',
  'reasoning_effort',
  'metadata',
  'service_tier',
  'web_search_options',
]);

const refuse = sideDoorRefusal;

export function openaiSideDoor(
  body: Json,
  betaHeader: string | null,
  allowed: ProfileLlm,
): SideDoor | undefined {
  const unknown = betaOrFieldDoor(body, betaHeader, allowed, KNOWN_FIELDS);
  if (unknown) return unknown;
  const tier = dearTierDoor(body, allowed);
  if (tier) return tier;
  const logprobs = logprobsDoor(body, allowed);
  if (logprobs) return logprobs;
  if (body.web_search_options !== undefined && !allowed.server_tools.includes('web_search'))
    return refuse('web_search_options', 'the server tool "web_search"', 'server_tools');
  // A search model searches the web with the conversation whether or not the request says so.
  if (searchModel(body.model) && !allowed.server_tools.includes('web_search'))
    return refuse(
      'model',
      `the search model ${JSON.stringify(body.model)} (server tool "web_search")`,
      'server_tools',
    );
  const tools = Array.isArray(body.tools) ? body.tools : body.tools === undefined ? [] : [body.tools];
  for (const [i, tool] of tools.entries()) {
    const type = isObject(tool) ? tool.type : undefined;
    if (type === 'function' || type === 'custom') continue;
    if (!allowed.server_tools.includes(String(type)))
      return refuse(`tools[${i}].type`, `the server tool ${JSON.stringify(type ?? null)}`, 'server_tools');
  }
  if (!allowed.url_sources) {
    const found = lookedUp(body.messages, 'messages');
    if (found) return refuse(found, `the content at ${found}, fetched by URL or file id,`, 'url_sources');
  }
  return undefined;
}

/**
 * The path of the first content part the API would fetch (an image URL, given as an object or as
 * a bare string) or look up in the account (a stored file by id or URL); only inline data passes.
 * Walked through every message and nested part, not just the top-level content lists.
 */
function lookedUp(messages: unknown, path: string): string | undefined {
  return firstPath(messages, path, (part, at) => {
    if (part.image_url !== undefined) {
      const url = isObject(part.image_url) ? part.image_url.url : part.image_url;
      if (typeof url !== 'string' || !url.startsWith('data:')) return `${at}.image_url`;
    }
    const file = part.file;
    if (isObject(file) && (file.file_id !== undefined || file.file_url !== undefined)) return `${at}.file`;
    return undefined;
  });
}

/** The API's own ceiling on `n`. */
const MAX_CHOICES = 128;

/**
 * How many choices the request asks for (`n`, each up to max_tokens long), or undefined when `n`
 * is not a count the API would read the same way the budget does (a string, a fraction, 1e9).
 */
export function openaiChoices(body: Json): number | undefined {
  const n = body.n;
  if (n === undefined || n === null) return 1;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= MAX_CHOICES ? n : undefined;
}

export function openaiInvalid(body: Json): string | undefined {
  return openaiChoices(body) === undefined
    ? `bulkhead: n must be an integer from 1 to ${MAX_CHOICES}.`
    : undefined;
}

/** The output the request can generate in all: max_tokens is per choice, so n choices are n times it. */
export function openaiRequested(body: Json): number {
  const asked = body.max_completion_tokens ?? body.max_tokens;
  const per = typeof asked === 'number' && asked > 0 ? Math.floor(asked) : DEFAULT_MAX_TOKENS;
  return per * (openaiChoices(body) ?? 1);
}

/** `max`: the output granted for all choices together, shared out so that n × max_tokens fits it. */
export function openaiWithMaxTokens(body: Json, total: number): Json {
  const out: Json = { ...body };
  const asked = openaiChoices(body) ?? 1;
  // Fewer choices than asked when fewer tokens than choices are left: one token each at least.
  const n = Math.max(1, Math.min(asked, total));
  if (n !== asked) out.n = n;
  const max = Math.floor(total / n);
  if (out.max_completion_tokens !== undefined || out.max_tokens === undefined)
    out.max_completion_tokens = max;
  if (out.max_tokens !== undefined) out.max_tokens = max;
  // Usage arrives only when asked for; bulkhead needs it to charge the stream.
  if (out.stream === true)
    out.stream_options = { ...(isObject(out.stream_options) ? out.stream_options : {}), include_usage: true };
  return out;
}

/**
 * OpenAI usage (both APIs) as the ledger counts it: the input count includes the cached
 * tokens its details report, which are cache reads; the output count includes reasoning.
 */
export function cachedUsage(input: unknown, details: unknown, output: unknown): MessageUsage {
  const cached = isObject(details) ? n(details.cached_tokens) : 0;
  return {
    ...EMPTY_USAGE,
    input_tokens: Math.max(0, n(input) - cached),
    cache_read_input_tokens: cached,
    output_tokens: n(output),
  };
}

/** Chat Completions usage as the ledger counts it. */
export function openaiUsage(usage: unknown): MessageUsage {
  if (!isObject(usage)) return EMPTY_USAGE;
  return cachedUsage(usage.prompt_tokens, usage.prompt_tokens_details, usage.completion_tokens);
}

/** Usage read from a Chat Completions stream as it passes. */
export class OpenAiUsageTracker extends StreamUsage {
  observe(data: unknown): void {
    if (data === '[DONE]') {
      this.complete = true;
      return;
    }
    if (!isObject(data)) return;
    if (isObject(data.error))
      this.errorType = typeof data.error.type === 'string' ? data.error.type : 'api_error';
    if (isObject(data.usage)) {
      this.usage = openaiUsage(data.usage);
      this.reported = true;
    }
    for (const choice of Array.isArray(data.choices) ? data.choices : []) {
      const delta = isObject(choice) && isObject(choice.delta) ? choice.delta : undefined;
      if (!delta) continue;
      if (typeof delta.content === 'string') this.generatedChars += delta.content.length;
      for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
        const args = isObject(call) && isObject(call.function) ? call.function.arguments : undefined;
        if (typeof args === 'string') this.generatedChars += args.length;
      }
    }
  }
}

/**
 * The strings of a chunk's `delta` that clients append chunk by chunk to their choice's message:
 * the text, a refusal (the SDK accumulates it as it does the text), and the reasoning that
 * OpenAI-compatible APIs stream as `reasoning_content` or `reasoning`. Each was scrubbed chunk by
 * chunk but the text, so a secret split over two refusal chunks reached the agent whole.
 */
const STREAMED = ['content', 'refusal', 'reasoning_content', 'reasoning'] as const;

/** What one held string extends: a field of a choice's delta, or a tool call's arguments. */
type HeldAt = { choice: number; field: (typeof STREAMED)[number] } | { choice: number; tool: number };

const deltaOf = (copy: Json, ci: number): Json => ((copy.choices as Json[])[ci] as Json).delta as Json;

/**
 * Chunks scrubbed as the Anthropic stream is (anthropic-sse.ts): each choice's
 * streamed strings (`STREAMED`), and each tool call's `arguments`, through one
 * streaming scrubber each; what is held is appended to the chunk that finishes
 * the choice (or sent in one more chunk before `[DONE]`).
 */
export function openaiDialect(scrubber: Scrubber): SseDialect {
  const held = new HeldText(scrubber);
  const where = new Map<string, HeldAt>();
  const push = (key: string, at: HeldAt, text: string): string => {
    where.set(key, at);
    return held.push(key, text);
  };
  const flush = (key: string): string => {
    where.delete(key);
    return held.flush(key);
  };
  let last: Json = {};
  const flushAll = (): string => {
    const choices = new Map<number, Json>();
    for (const key of held.keys()) {
      const at = where.get(key);
      const rest = flush(key);
      if (!rest || !at) continue;
      const choice = choices.get(at.choice) ?? { index: at.choice, delta: {}, finish_reason: null };
      const delta = choice.delta as Json;
      if ('tool' in at)
        delta.tool_calls = [
          ...((delta.tool_calls as Json[] | undefined) ?? []),
          { index: at.tool, function: { arguments: rest } },
        ];
      else delta[at.field] = rest;
      choices.set(at.choice, choice);
    }
    if (!choices.size) return '';
    const chunk = {
      id: last.id,
      object: 'chat.completion.chunk',
      created: last.created,
      model: last.model,
      choices: [...choices.values()],
    };
    return formatSse(undefined, JSON.stringify(scrubber.value(chunk)));
  };
  return {
    event(event, data) {
      if (event.data === '[DONE]') return flushAll() + formatSse(eventName(event.event, scrubber), '[DONE]');
      if (!isObject(data)) return textEvent(event, scrubber);
      last = { id: data.id, created: data.created, model: data.model };
      const pieces: Array<{ set(copy: Json): void }> = [];
      const blank: Json = { ...data };
      if (Array.isArray(data.choices)) {
        blank.choices = data.choices.map((choice, ci) => {
          if (!isObject(choice) || !isObject(choice.delta)) return choice;
          const c = typeof choice.index === 'number' ? choice.index : ci;
          const delta: Json = { ...choice.delta };
          const finishing = choice.finish_reason !== null && choice.finish_reason !== undefined;
          for (const field of STREAMED) {
            const text = delta[field];
            if (typeof text !== 'string') continue;
            const key = `${c}:${field}`;
            const piece = push(key, { choice: c, field }, text) + (finishing ? flush(key) : '');
            delta[field] = '';
            pieces.push({ set: (copy) => (deltaOf(copy, ci)[field] = piece) });
          }
          if (Array.isArray(delta.tool_calls)) {
            delta.tool_calls = delta.tool_calls.map((call, ti) => {
              if (!isObject(call) || !isObject(call.function) || typeof call.function.arguments !== 'string')
                return call;
              const t = typeof call.index === 'number' ? call.index : ti;
              const key = `${c}:tool:${t}`;
              const piece =
                push(key, { choice: c, tool: t }, call.function.arguments) + (finishing ? flush(key) : '');
              pieces.push({
                set: (copy) => {
                  const calls = deltaOf(copy, ci).tool_calls as Json[];
                  ((calls[ti] as Json).function as Json).arguments = piece;
                },
              });
              return { ...call, function: { ...call.function, arguments: '' } };
            });
          }
          return { ...choice, delta };
        });
      }
      // A chunk in its documented shape has only its id, model and fingerprint scanned.
      const copy = scrubKnownChunk(blank, scrubber) ?? scrubber.value(blank);
      for (const p of pieces) p.set(copy);
      return formatSse(eventName(event.event, scrubber), JSON.stringify(copy));
    },
    end: flushAll,
  };
}

/** One error chunk in the shape the OpenAI SDKs raise from a stream. */
export function openaiStreamError(type: string, message: string): Uint8Array {
  return new TextEncoder().encode(formatSse(undefined, JSON.stringify({ error: { type, message } })));
}
