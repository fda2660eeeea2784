/**
 * `count_tokens`, both ways: the agent's own `/v1/messages/count_tokens`
 * (authenticated, side doors checked, the answer scrubbed), and the proxy
 * asking the API for a request's exact input count when its byte estimate
 * does not fit what the budget has left (spend.ts).
 */
import type { Context } from 'hono';
import type { Run } from '../runs/run.js';
import { scrubAnswer } from './answer.js';
import { UnreadableAnswer, unreadableHeaders } from './answer-body.js';
import { readJsonBody } from './body.js';
import type { ProxyContext } from './context.js';
import { COUNTS_OPEN, COUNTS_PER_MINUTE, CountLimiter } from './count-limit.js';
import { apiError } from './errors.js';
import { forwardHeaders, returnedHeaders } from './headers.js';
import { ended } from './refusals.js';
import { check, refuse } from './request-check.js';
import { cancelFor } from './signals.js';
import { postUpstream, type UpstreamResponse } from './upstream.js';
import { ANTHROPIC } from './wire-format.js';

const PATH = '/v1/messages/count_tokens';

export function countTokensRoute(ctx: ProxyContext): (c: Context) => Promise<Response> {
  const limiter = new CountLimiter();
  return async (c) => {
    const req = c.req.raw;
    const run = await ctx.authenticate(req);
    if (!run) return apiError(401, 'authentication_error', 'A valid run token is required.');
    if (run.state !== 'active') return ended(run);
    const admission = limiter.admit(run.id);
    if (!admission.ok) {
      const refused = apiError(
        429,
        'rate_limit_error',
        `bulkhead: this run may count tokens at most ${COUNTS_PER_MINUTE} times a minute, ${COUNTS_OPEN} at once.`,
      );
      refused.headers.set('retry-after', String(admission.retryAfterS));
      return refused;
    }
    try {
      return await count(ctx, run, req);
    } finally {
      admission.release();
    }
  };
}

/** One admitted count: checked as a message is, sent, its answer scrubbed. */
async function count(ctx: ProxyContext, run: Run, req: Request): Promise<Response> {
  const { deps } = ctx;
  const read = await readJsonBody(req, ctx.maxBody);
  if (!read.ok) return read.response;
  // The same checks as a message (model list, side doors, flow rules): counting sends the
  // prompt to the API, and the API fetches a URL source to count it. A count has no
  // max_tokens, so one is supplied for the check alone; it is not forwarded.
  const verdict = check(ctx, run, { ...read, body: { max_tokens: 1, ...read.body } }, req, ANTHROPIC);
  if (!verdict.ok) return refuse(ctx, run, verdict.refusal);
  if (verdict.opens) await deps.runs.taint(run.id, `llm:${verdict.opens}`);
  const linked = cancelFor([deps.runs.signal(run.id)], req.signal);
  try {
    let upstream: UpstreamResponse;
    try {
      upstream = await postUpstream(
        ctx.upstream(PATH),
        forwardHeaders(req, deps.apiKey, ANTHROPIC),
        JSON.stringify(read.body),
        linked,
      );
    } catch {
      return apiError(502, 'api_error', 'bulkhead: the LLM API could not be reached.');
    }
    const unreadable = unreadableHeaders(upstream.headers);
    if (unreadable) {
      upstream.discard();
      return apiError(502, 'api_error', `bulkhead: ${unreadable.message}.`);
    }
    let text: string;
    try {
      text = await upstream.text();
    } catch (error) {
      if (error instanceof UnreadableAnswer) return apiError(502, 'api_error', `bulkhead: ${error.message}.`);
      return apiError(502, 'api_error', 'bulkhead: the LLM API answer was cut off.');
    }
    const scrubber = deps.scrubberFor(run.profile);
    return new Response(scrubAnswer(text, scrubber), {
      status: upstream.status,
      headers: returnedHeaders(upstream, scrubber),
    });
  } finally {
    linked.dispose();
  }
}

/** The exact input token count of a request, from the API; undefined when it cannot be had. */
export async function countInputTokens(
  ctx: ProxyContext,
  body: Record<string, unknown>,
  req: Request,
  runId: string,
): Promise<number | undefined> {
  // Every field that adds input: without `mcp_servers` (the connector's tool definitions) or the
  // output format's schema, the exact count was less than the request costs, and a near-cap
  // reservation retried with it fit where the request did not. A field the count refuses only
  // means no exact count (the byte bound stands).
  const fields = [
    'model',
    'messages',
    'system',
    'tools',
    'tool_choice',
    'thinking',
    'mcp_servers',
    'output_format',
    'output_config',
    'context_management',
  ] as const;
  const counted = Object.fromEntries(fields.filter((f) => body[f] !== undefined).map((f) => [f, body[f]]));
  const linked = cancelFor([ctx.deps.runs.signal(runId)], req.signal);
  try {
    const upstream = await postUpstream(
      ctx.upstream(PATH),
      forwardHeaders(req, ctx.deps.apiKey, ANTHROPIC),
      JSON.stringify(counted),
      linked,
    );
    const text = await upstream.text();
    if (upstream.status !== 200) return undefined;
    const n = (JSON.parse(text) as { input_tokens?: unknown }).input_tokens;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  } catch {
    return undefined;
  } finally {
    linked.dispose();
  }
}
