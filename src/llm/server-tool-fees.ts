/**
 * Server tools bill per use on top of tokens: a web search costs $10 per 1,000 on the Messages
 * API (`usage.server_tool_use.web_search_requests`) and on the Responses API (one
 * `web_search_call` output item each), a Responses file search $2.50 per 1,000 (`file_search_call`),
 * and a Chat Completions request with `web_search_options` one search. Under a USD cap these are
 * reserved before the request at the most it allows and settled from what the answer reports;
 * left out, a run searched without limit on a budget that only counted tokens.
 *
 * The most a request allows is its own bound (`max_uses` of a Messages web search or web fetch
 * tool, `max_tool_calls` of a Responses request), or, where it sets none, `DEFAULT_TOOL_USES`,
 * which is then set in the request sent (under any cap), so the bound reserved is one the API
 * keeps. The same bound counts the samplings: each use appends its result and the API reads the
 * whole conversation again, billed as input each time (`samplings`, spend.ts). The results
 * themselves are input the prompt never held: reserved at a ceiling per use (`resultReads`).
 */
import { isObject, type Json } from './json.js';
import { LOOP_RESULT_TOKENS, messagesLoop, responsesServerTool } from './server-loops.js';
import { toolFamily } from './side-doors.js';

/** Uses of each server tool, by family (the tool type without its date: `web_search`). */
export type ToolCalls = Record<string, number>;

/**
 * USD per use when `llm.server_tool_prices` does not say: the providers' list prices, at the
 * dearest where they vary (a Responses image is $0.01 to $0.25 by size and quality; a code
 * interpreter container $0.03, counted per call, as no answer says which calls shared one).
 */
export const DEFAULT_SERVER_TOOL_PRICES: Readonly<ToolCalls> = {
  web_search: 0.01,
  file_search: 0.0025,
  image_generation: 0.25,
  code_interpreter: 0.03,
  // Anthropic bills code execution by container time, $0.05 an hour (5 minutes at least), and no
  // answer reports it: a request that may execute code owes an hour, more than a turn runs.
  code_execution: 0.05,
};

/** The bound set in a request under a cap that asks for a bounded server tool with none. */
export const DEFAULT_TOOL_USES = 10;

/**
 * The most input one web search's results add, in tokens. No provider documents a maximum: a
 * Messages search returns up to about ten results, each a page's encrypted excerpt and title
 * (reported between 2,000 and 8,000 tokens a search); a Responses or Chat Completions search
 * returns its sources' text likewise. Set above what is seen, since a reservation must not be short.
 */
export const WEB_SEARCH_RESULT_TOKENS = 10_000;

/**
 * `max_content_tokens` set on a Messages web fetch under a cap that sets none: the API truncates a
 * fetched page or PDF there. Without it a fetch adds the whole document, as large as the context
 * window; 50,000 tokens holds a long article or a 20-page PDF and fits a modest cap.
 */
export const DEFAULT_FETCH_TOKENS = 50_000;

/**
 * `record[key]` when it is the record's own: a name from a request or an answer
 * (`constructor_call`) must not read what every object inherits.
 */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The operator's prices over the defaults. */
export function serverToolPrices(configured: Readonly<ToolCalls> | undefined): ToolCalls {
  return { ...DEFAULT_SERVER_TOOL_PRICES, ...configured };
}

/**
 * Every tool a Responses request lists, those grouped in a `namespace` too (at any depth: the
 * body's nesting is bounded, body.ts): a server tool in a group is billed as one at the top.
 */
function listedTools(tools: unknown, path = 'tools'): Array<{ tool: Json; at: string }> {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((tool, i): Array<{ tool: Json; at: string }> => {
    const at = `${path}[${i}]`;
    if (!isObject(tool)) return [];
    return tool.type === 'namespace' ? listedTools(tool.tools, `${at}.tools`) : [{ tool, at }];
  });
}

/**
 * OpenAI bills a container by its memory, linearly: 1 GB $0.03, 4 GB $0.12, 16 GB $0.48, 64 GB
 * $1.92 a session. A `memory_limit` it does not list is read at the largest.
 */
const CONTAINER_GB: Readonly<Record<string, number>> = { '1g': 1, '4g': 4, '16g': 16, '64g': 64 };
const LARGEST_GB = 64;

/**
 * The prices for this request's containers: the code interpreter's at the largest `memory_limit`
 * its tools ask for, and a hosted shell's (`shell_call`, a container as the code interpreter's)
 * likewise. Priced at 1 GB, a 64 GB container was charged a 64th of its bill.
 */
export function containerPrices(body: Json, prices: Readonly<ToolCalls>): ToolCalls {
  let gb = 1;
  let hostedShell = false;
  for (const { tool } of listedTools(body.tools)) {
    const spec =
      tool.type === 'shell'
        ? tool.environment
        : tool.type === 'code_interpreter'
          ? tool.container
          : undefined;
    hostedShell ||= tool.type === 'shell' && isObject(spec) && spec.type !== 'local';
    const limit = isObject(spec) ? spec.memory_limit : undefined;
    if (limit === undefined || limit === null) continue;
    gb = Math.max(gb, (typeof limit === 'string' ? own(CONTAINER_GB, limit) : undefined) ?? LARGEST_GB);
  }
  const perGb = own(prices, 'code_interpreter') ?? 0;
  if (gb === 1 && !hostedShell) return { ...prices };
  return { ...prices, code_interpreter: perGb * gb, ...(hostedShell ? { shell: perGb * gb } : {}) };
}

/** What the uses cost, quantized by the caller with the rest of the request. */
export function feesUsd(calls: ToolCalls | undefined, prices: Readonly<ToolCalls> | undefined): number {
  let usd = 0;
  for (const [family, n] of Object.entries(calls ?? {})) usd += n * (own(prices, family) ?? 0);
  return usd;
}

/**
 * How many times the API may sample over the prompt: once, and once more after each server
 * tool use (the results are appended and the whole conversation read again), each billed as input.
 */
export function samplings(calls: ToolCalls): number {
  let n = 1;
  for (const uses of Object.values(calls)) n += uses;
  return n;
}

/** Uses per family, the larger of each (a cut stream owes at least what was reserved). */
export function mostCalls(a: ToolCalls | undefined, b: ToolCalls | undefined): ToolCalls {
  const out: ToolCalls = { ...a };
  for (const [family, n] of Object.entries(b ?? {})) out[family] = Math.max(own(out, family) ?? 0, n);
  return out;
}

/**
 * The server tool uses a request may pay for at most, and the body to send (with the bound set
 * where it had none). `owed`: uses no answer reports (a Chat Completions search, a Messages code
 * execution container), owed by any answered request beside what it reports. `bound`: how to fix
 * the request when the cap cannot pay.
 */
export interface ToolPlan {
  calls: ToolCalls;
  body: Json;
  bound?: string;
  owed?: ToolCalls;
  /** The most input the tools' results add, summed over every sampling that reads them (`resultReads`). */
  resultInput?: number;
  /** The most samplings where a loop the provider runs bounds them, not the uses (server-loops.ts). */
  samplings?: number;
}

/** How many times the API may read the prompt under a plan: per use, or its loop's limit. */
export function planSamplings(plan: ToolPlan): number {
  return Math.max(samplings(plan.calls), plan.samplings ?? 1);
}

/** Uses of a tool whose results add at most `tokens` each. */
interface ResultUses {
  uses: number;
  tokens: number;
}

/**
 * The most input tokens results add over a request: after its k-th use the API samples again over
 * the conversation with every result so far, so the k-th sampling after a use reads the k largest
 * results at worst (the largest first). Summed over the samplings: Σ_k (sum of the k largest).
 */
export function resultReads(groups: readonly ResultUses[]): number {
  let held = 0;
  let reads = 0;
  for (const { uses, tokens } of [...groups].sort((a, b) => b.tokens - a.tokens)) {
    // The group's uses, one after another: held + t, held + 2t, ... held + n·t.
    reads += uses * held + (tokens * uses * (uses + 1)) / 2;
    held += uses * tokens;
  }
  return reads;
}

/** The result ceiling of a search tool, by family; a fetch's is its own `max_content_tokens`. */
const SEARCH_FAMILIES = new Set(['web_search']);

export type ToolPlanResult = { ok: true; plan: ToolPlan } | { ok: false; message: string };

const NO_TOOLS = (body: Json): ToolPlanResult => ({ ok: true, plan: { calls: {}, body } });

/** A bound the API reads as the budget does: a positive safe integer, or absent. */
function boundOf(value: unknown): number | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : 'invalid';
}

const invalid = (field: string): ToolPlanResult => ({
  ok: false,
  message: `bulkhead: ${field} must be a positive integer.`,
});

/** How to lower a bound, the agent's own or the one set for it. */
const fix = (field: string, uses: number | undefined) =>
  uses === undefined ? `set ${field} below ${DEFAULT_TOOL_USES}, what none is read as` : `lower ${field}`;

const priced = (family: string, prices: Readonly<ToolCalls>) => (own(prices, family) ?? 0) > 0;

/**
 * The family a tool type is billed as: without its version, whichever way it is written
 * (`web_search_20250305`, `web_search_2025_08_26`, `web_search_preview`), as its calls are reported.
 */
export function feeFamily(type: string): string {
  return toolFamily(type).replace(/_(\d{4}_\d{2}_\d{2}|preview)$/, '');
}

/** Messages server tools that take `max_uses`. */
const USES_BOUNDED = new Set(['web_search', 'web_fetch']);

/** Messages: each web search or web fetch tool at its `max_uses`. */
export function messagesToolPlan(body: Json, _prices: Readonly<ToolCalls>, capped: boolean): ToolPlanResult {
  // Not returned early without tools: `mcp_servers` alone opens the connector's loop.
  const listed = Array.isArray(body.tools) ? body.tools : [];
  const calls: ToolCalls = {};
  let bound: string | undefined;
  let changed = false;
  const tools: unknown[] = [];
  const results: ResultUses[] = [];
  for (const [i, tool] of listed.entries()) {
    const type = isObject(tool) ? tool.type : undefined;
    const family = typeof type === 'string' ? feeFamily(type) : '';
    // Priced or not: each use is one more sampling over the prompt (`samplings`).
    if (!isObject(tool) || !USES_BOUNDED.has(family)) {
      tools.push(tool);
      continue;
    }
    const uses = boundOf(tool.max_uses);
    if (uses === 'invalid') return invalid(`tools[${i}].max_uses`);
    // A fetch adds the document, up to `max_content_tokens`: bounded as `max_uses` is.
    const fetches = family === 'web_fetch';
    const content = fetches ? boundOf(tool.max_content_tokens) : undefined;
    if (content === 'invalid') return invalid(`tools[${i}].max_content_tokens`);
    const n = uses ?? DEFAULT_TOOL_USES;
    calls[family] = (own(calls, family) ?? 0) + n;
    results.push({ uses: n, tokens: fetches ? (content ?? DEFAULT_FETCH_TOKENS) : WEB_SEARCH_RESULT_TOKENS });
    bound ??= fix(`tools[${i}].max_uses`, uses) + (fetches ? ` or tools[${i}].max_content_tokens` : '');
    const sent = {
      ...tool,
      ...(uses === undefined && capped ? { max_uses: DEFAULT_TOOL_USES } : {}),
      ...(fetches && content === undefined && capped ? { max_content_tokens: DEFAULT_FETCH_TOKENS } : {}),
    };
    changed ||= Object.keys(sent).length !== Object.keys(tool).length;
    tools.push(sent);
  }
  // Code execution, the MCP connector and any other server tool have no `max_uses`: the API's own
  // loop bounds them, reserved at its limit.
  const loop = messagesLoop(body, (type) => USES_BOUNDED.has(feeFamily(type)));
  if (loop) {
    results.push({ uses: loop.uses, tokens: loop.tokens });
    bound = `remove ${loop.field}: its server-side loop may sample ${loop.samplings} times, bounded by no field`;
  }
  // Code execution has no `max_uses`: one container, billed by its time, owed whatever is reported.
  const executes = listed.some(
    (t) => isObject(t) && typeof t.type === 'string' && feeFamily(t.type) === 'code_execution',
  );
  const owed: ToolCalls = executes ? { code_execution: 1 } : {};
  return {
    ok: true,
    plan: {
      calls: { ...calls, ...owed },
      body: changed ? { ...body, tools } : body,
      ...(bound ? { bound } : {}),
      ...(executes ? { owed } : {}),
      ...(loop ? { samplings: loop.samplings } : {}),
      resultInput: resultReads(results),
    },
  };
}

/**
 * Tokens one file search chunk holds at most: a vector store's static chunking takes
 * `max_chunk_size_tokens` up to 4,096 (OpenAI, vector store chunking strategy; 800 by default).
 */
export const FILE_SEARCH_CHUNK_TOKENS = 4_096;

/** Chunks a file search returns where `max_num_results` is absent: the most it accepts (1 to 50). */
export const FILE_SEARCH_MAX_RESULTS = 50;

/** What one call of a Responses server tool adds, at most, or why its bound is invalid. */
function responsesResult(tool: Json, family: string, at: string): number | { invalid: string } {
  if (SEARCH_FAMILIES.has(family)) return WEB_SEARCH_RESULT_TOKENS;
  if (family !== 'file_search') return LOOP_RESULT_TOKENS;
  const chunks = boundOf(tool.max_num_results);
  if (chunks === 'invalid') return { invalid: `${at}.max_num_results` };
  return (chunks ?? FILE_SEARCH_MAX_RESULTS) * FILE_SEARCH_CHUNK_TOKENS;
}

/**
 * Responses: `max_tool_calls` bounds every server tool's calls together (priced at the dearest),
 * each call one more sampling over what came before, its result read by every later one at the
 * largest any of the request's tools returns (a file search's `max_num_results` chunks).
 */
export function responsesToolPlan(body: Json, prices: Readonly<ToolCalls>, capped: boolean): ToolPlanResult {
  let dearest: string | undefined;
  let server = false;
  let tokens = 0;
  let largest = '';
  for (const { tool, at } of listedTools(body.tools)) {
    if (!responsesServerTool(tool)) continue;
    server = true;
    const family = feeFamily(String(tool.type));
    const result = responsesResult(tool, family, at);
    if (typeof result !== 'number') return invalid(result.invalid);
    if (result > tokens) [tokens, largest] = [result, family === 'file_search' ? at : ''];
    if (priced(family, prices) && (!dearest || (own(prices, family) ?? 0) > (own(prices, dearest) ?? 0)))
      dearest = family;
  }
  if (!server) return NO_TOOLS(body);
  const uses = boundOf(body.max_tool_calls);
  if (uses === 'invalid') return invalid('max_tool_calls');
  const sent = uses === undefined && capped ? { ...body, max_tool_calls: DEFAULT_TOOL_USES } : body;
  const n = uses ?? DEFAULT_TOOL_USES;
  return {
    ok: true,
    plan: {
      calls: dearest ? { [dearest]: n } : {},
      body: sent,
      bound: fix('max_tool_calls', uses) + (largest ? ` or ${largest}.max_num_results` : ''),
      samplings: 1 + n,
      resultInput: resultReads([{ uses: n, tokens }]),
    },
  };
}

/**
 * Chat Completions models that search the web on every request, asked to or not
 * (`gpt-4o-search-preview`, `gpt-4o-mini-search-preview`, `gpt-5-search-api`).
 */
export function searchModel(model: unknown): boolean {
  return typeof model === 'string' && /(^|[-_.])search([-_.]|$)/i.test(model);
}

/** Chat Completions: a request with `web_search_options`, or to a search model, is one search, reported nowhere. */
export function chatToolPlan(body: Json, prices: Readonly<ToolCalls>): ToolPlanResult {
  const searches = body.web_search_options !== undefined || searchModel(body.model);
  if (!searches) return NO_TOOLS(body);
  // Its results are read with the prompt, priced or not.
  const resultInput = WEB_SEARCH_RESULT_TOKENS;
  if (!priced('web_search', prices)) return { ok: true, plan: { calls: {}, body, resultInput } };
  const owed = { web_search: 1 };
  return { ok: true, plan: { calls: owed, body, owed, resultInput } };
}

/** Messages usage: `server_tool_use.<family>_requests`, cumulative totals (never summed). */
export function messagesCalls(serverToolUse: unknown): ToolCalls | undefined {
  if (!isObject(serverToolUse)) return undefined;
  const calls: ToolCalls = {};
  for (const [key, value] of Object.entries(serverToolUse)) {
    const family = key.endsWith('_requests') ? key.slice(0, -'_requests'.length) : undefined;
    if (family && typeof value === 'number' && Number.isFinite(value) && value > 0) calls[family] = value;
  }
  return calls;
}

/** Responses: one use per `<family>_call` output item of a built-in tool (`web_search_call`). */
export function responsesCalls(response: unknown): ToolCalls {
  const calls: ToolCalls = {};
  const output = isObject(response) && Array.isArray(response.output) ? response.output : [];
  for (const item of output) {
    const type = isObject(item) ? item.type : undefined;
    if (typeof type !== 'string' || !type.endsWith('_call')) continue;
    const family = type.slice(0, -'_call'.length);
    calls[family] = (own(calls, family) ?? 0) + 1;
  }
  return calls;
}
