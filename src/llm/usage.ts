/**
 * Usage accounting for Anthropic Messages responses. In a stream,
 * `message_start` carries the input (and cache) counts and `message_delta`
 * carries output counts that are CUMULATIVE: the last one seen is the total,
 * summing them would double-charge. A stream cut mid-way is charged for what
 * was reported so far.
 */
import type { Budgets } from '../policy/schema/profile.js';

export interface MessageUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
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
}

function n(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** Merges a usage object from the API into what is known; present fields overwrite (they are totals). */
export function mergeUsage(known: MessageUsage, reported: unknown): MessageUsage {
  if (!reported || typeof reported !== 'object') return known;
  const r = reported as Record<string, unknown>;
  return {
    input_tokens: 'input_tokens' in r && r.input_tokens !== null ? n(r.input_tokens) : known.input_tokens,
    output_tokens:
      'output_tokens' in r && r.output_tokens !== null ? n(r.output_tokens) : known.output_tokens,
    cache_read_input_tokens:
      'cache_read_input_tokens' in r && r.cache_read_input_tokens !== null
        ? n(r.cache_read_input_tokens)
        : known.cache_read_input_tokens,
    cache_creation_input_tokens:
      'cache_creation_input_tokens' in r && r.cache_creation_input_tokens !== null
        ? n(r.cache_creation_input_tokens)
        : known.cache_creation_input_tokens,
  };
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

export function cost(usage: MessageUsage, price: Price | undefined): number {
  if (!price) return 0;
  const perToken = (perMillion: number) => perMillion / 1_000_000;
  return (
    usage.input_tokens * perToken(price.input) +
    usage.output_tokens * perToken(price.output) +
    usage.cache_read_input_tokens * perToken(price.cache_read ?? price.input * 0.1) +
    usage.cache_creation_input_tokens * perToken(price.cache_write ?? price.input * 1.25)
  );
}

/** A documented, deliberately generous estimate: about 3 characters per token of the JSON request. */
export function estimateInputTokens(body: Record<string, unknown>): number {
  const text = JSON.stringify({
    system: body.system ?? '',
    messages: body.messages ?? [],
    tools: body.tools ?? [],
  });
  return Math.ceil(text.length / 3);
}

/** Reads SSE events from a byte stream as it passes, without holding it back. */
export class SseUsageTracker {
  usage: MessageUsage = { ...EMPTY_USAGE };
  private buffer = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array): void {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    let end = this.buffer.indexOf('\n\n');
    while (end !== -1) {
      this.event(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end + 2);
      end = this.buffer.indexOf('\n\n');
    }
    // A hostile upstream cannot grow the buffer without bound.
    if (this.buffer.length > 1_000_000) this.buffer = '';
  }

  private event(block: string): void {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) return;
    let parsed: { type?: string; message?: { usage?: unknown }; usage?: unknown };
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (parsed.type === 'message_start') this.usage = mergeUsage(this.usage, parsed.message?.usage);
    else if (parsed.type === 'message_delta') this.usage = mergeUsage(this.usage, parsed.usage);
  }
}
