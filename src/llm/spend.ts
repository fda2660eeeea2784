/**
 * Reserving a request's spend before it is sent, so that no request, alone
 * or with others running at once, can take a run past its token or USD caps.
 *
 * The bound, by design: a reservation holds an upper bound of what the
 * request can be charged. Input: the UTF-8 byte count of the prompt
 * (`estimateInputTokens`, no tokenizer packs more tokens than bytes), times
 * the cache-write weight when that is above 1 (a prompt written to the cache
 * is charged more per token); USD: that count at the dearest input price
 * (cache writes). Output: `max_tokens` clamped to what every cap has left,
 * and the API never generates more than `max_tokens`. When the byte bound
 * does not fit what is left, the API's `count_tokens` gives the exact input
 * count, and the reservation is retried with it. So a run's charged usage
 * exceeds a cap only by the error of `count_tokens` itself on requests that
 * needed it (documented by the API as an estimate; exact in our fake), and
 * never by what a dense script packs into a byte.
 */
import type { TokenCaps, TokenRequest, TokenReservation } from '../budget/tokens.js';
import type { Budgets } from '../policy/schema/profile.js';
import type { Run } from '../runs/run.js';
import type { Store } from '../store/store.js';
import { firstPath } from './side-doors.js';
import { estimateInputTokens, type Price } from './usage.js';

export function capsOf(budgets: Budgets): TokenCaps {
  const tokens = budgets.tokens;
  return {
    ...(tokens?.input !== undefined ? { input: tokens.input } : {}),
    ...(tokens?.output !== undefined ? { output: tokens.output } : {}),
    ...(tokens?.total !== undefined ? { total: tokens.total } : {}),
    ...(budgets.usd !== undefined ? { usd: budgets.usd } : {}),
  };
}

/** USD per input token at the dearest way the API can charge it (a cache write). */
function inputUsdPerToken(price: Price | undefined): number {
  if (!price) return 0;
  return Math.max(price.input, price.cache_write ?? price.input * 1.25) / 1_000_000;
}

/** The price of the smallest request (one token in, one out): less than this left is none left. */
export function minRequestUsd(price: Price | undefined): number {
  return price ? inputUsdPerToken(price) + price.output / 1_000_000 : 0;
}

export interface SpendInput {
  store: Store;
  runId: string;
  model: string;
  body: Record<string, unknown>;
  /** The body's size as the agent sent it (the estimate's bound when it holds no image). */
  bodyBytes?: number;
  /** max_tokens as the agent asked. */
  requested: number;
  budgets: Budgets;
  price: Price | undefined;
  /** What the request's server tools may cost at most (server-tool-fees.ts). */
  feesUsd?: number;
  /** How many times the API may read the prompt (once, and once more per server tool use). */
  samplings?: number;
  /** The most input the server tools' results add over those samplings (server-tool-fees.ts `resultReads`). */
  resultInput?: number;
  /** The exact input token count from the API, or undefined when it cannot be had. */
  countTokens(): Promise<number | undefined>;
  /**
   * The run as remembered, not read, when the checks used it: the reservation confirms it is
   * unchanged in its own transaction, or answers `stale` with nothing reserved.
   */
  checked?: Run;
}

export type Spend =
  | { ok: true; reservationId: string; clamped: number; input: number; counted: boolean }
  | (Extract<TokenReservation, { ok: false; dimension: unknown }> & { input: number })
  | { ok: false; stale: true };

/**
 * Whether a Messages body asks for a cache kept an hour (`cache_control.ttl: "1h"`), whose writes
 * cost 2× input, 1.6 times a 5-minute write (usage.ts counts them so when settled).
 */
function holdsLongCache(body: Record<string, unknown>): boolean {
  const long = (part: Record<string, unknown>) => {
    const control = part.cache_control;
    return control !== null && typeof control === 'object' && (control as { ttl?: unknown }).ttl === '1h'
      ? 'ttl'
      : undefined;
  };
  return ['system', 'messages', 'tools'].some((field) => firstPath(body[field], field, long) !== undefined);
}

/**
 * Input tokens no request can be charged more than: the largest context window of the models
 * the proxy serves. What a file's bytes cannot bound is reserved at this when it cannot be counted.
 */
export const CONTEXT_CEILING = 1_000_000;

/**
 * Whether the prompt holds a file whose tokens its bytes do not bound: a PDF is read as the text
 * and an image of each page, and a page's text lives in a compressed stream that several pages can
 * share, so a few kilobytes of PDF held a hundred pages costing 150,000 tokens or more. Anthropic
 * `document` blocks other than plain text and content blocks, Chat Completions `file` parts and
 * Responses `input_file` items (fetched or stored ones, where a profile opens them, are no less).
 */
function holdsFile(body: Record<string, unknown>): boolean {
  const file = (part: Record<string, unknown>) => {
    if (part.type === 'input_file' || (part.type === 'file' && part.file !== undefined)) return 'file';
    const source = part.source;
    if (part.type !== 'document' || source === null || typeof source !== 'object') return undefined;
    const type = (source as { type?: unknown }).type;
    return type === 'text' || type === 'content' ? undefined : 'file';
  };
  // Not `tools`: a tool's schema describes data, it holds none.
  return ['system', 'messages', 'input', 'instructions'].some(
    (field) => firstPath(body[field], field, file) !== undefined,
  );
}

/** Whether `context_management` asks for compaction (an edit of type `compact_...`). */
function compacts(body: Record<string, unknown>): boolean {
  const edits = (body.context_management as { edits?: unknown } | null | undefined)?.edits;
  if (!Array.isArray(edits)) return false;
  return edits.some((edit: unknown) => {
    const type = (edit as { type?: unknown } | null)?.type;
    return typeof type === 'string' && type.startsWith('compact');
  });
}

export async function reserveSpend(s: SpendInput): Promise<Spend> {
  const caps = capsOf(s.budgets);
  // The bound must hold for what settlement will charge: an hour-long write counts 1.6 times.
  const longCache = holdsLongCache(s.body) ? 1.6 : 1;
  const weight = Math.max(1, s.budgets.tokens?.cache_write_weight ?? 1.25) * longCache;
  // Compaction reads the whole prompt to summarise it before the answer reads the summary: two
  // passes, each at most the prompt (the settlement counts both: usage.ts `mergeUsage`).
  // Each server tool use is one more: the API appends its result and reads the conversation again.
  const passes = (compacts(s.body) ? 1 : 0) + (s.samplings ?? 1);
  // What a fetch or a search brings in is input no byte of the prompt bounds: reserved at its ceiling.
  const results = s.resultInput ?? 0;
  // What a sampling wrote (at most max_tokens over the whole request) is read again by each one after it.
  const written = s.requested * (passes - 1);
  const read = (input: number) => input * passes + results + written;
  const request = (input: number): TokenRequest => ({
    input: Math.ceil(read(input) * weight),
    output: s.requested,
    // Without a price (no USD cap: a USD cap refuses unpriced models earlier) the request costs nothing.
    usd: read(input) * inputUsdPerToken(s.price) * longCache + (s.feesUsd ?? 0),
    ...(s.price ? { usdPerOutput: s.price.output / 1_000_000 } : {}),
    model: s.model,
  });
  let input = estimateInputTokens(s.body, s.bodyBytes);
  let counted = false;
  // A file's bytes bound nothing: its exact count, or (none to be had: the OpenAI APIs have no
  // count) the most any request can be charged. Reserved at its bytes, it was charged many times that.
  const file = holdsFile(s.body);
  if (file) {
    const exact = await s.countTokens();
    counted = exact !== undefined;
    input = exact ?? CONTEXT_CEILING;
  }
  const bound = input;
  let reservation = await s.store.tokens.reserve(s.runId, request(bound), caps, 1, s.checked);
  if (!reservation.ok && 'stale' in reservation) return reservation;
  // Confirmed from here on (or read, not remembered). The bound is generous; before refusing
  // on the input side, ask for the exact figure.
  if (!reservation.ok && reservation.dimension !== 'output' && !file) {
    const exact = await s.countTokens();
    if (exact !== undefined && exact < bound) {
      input = exact;
      counted = true;
      reservation = await s.store.tokens.reserve(s.runId, request(exact), caps, 1);
    }
  }
  if (!reservation.ok) return 'stale' in reservation ? reservation : { ...reservation, input };
  return {
    ok: true,
    reservationId: reservation.id,
    clamped: Math.min(s.requested, reservation.grantedOutput),
    input: read(input),
    counted,
  };
}
