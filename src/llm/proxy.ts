/**
 * The LLM API proxy (`/v1/messages`, `/v1/messages/count_tokens`), compatible
 * with the Anthropic Messages API. The agent authenticates with its run token
 * (as x-api-key or a bearer); the real key is injected here, so the agent
 * never holds it and the run token never reaches the upstream. Each request
 * reserves its input estimate plus a max_tokens clamped to what is left,
 * before it is sent; streams pass through chunk by chunk and are charged for
 * what they reported even when cut. Refusals use the API's own error shape.
 */
import { Hono } from 'hono';
import type { TokenCaps } from '../budget/tokens.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';
import {
  chargedInput,
  cost,
  EMPTY_USAGE,
  estimateInputTokens,
  type MessageUsage,
  SseUsageTracker,
} from './usage.js';

export interface LlmProxyDeps {
  policy: Policy;
  apiKey: string;
  store: Store;
  runs: RunService;
  events: EventWriter;
  logger: Logger;
  /** Largest request body accepted, in bytes. */
  maxBody?: number;
}

type ErrorType =
  | 'authentication_error'
  | 'permission_error'
  | 'invalid_request_error'
  | 'request_too_large'
  | 'api_error';

function apiError(status: number, type: ErrorType, message: string): Response {
  return new Response(JSON.stringify({ type: 'error', error: { type, message } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/** Headers worth passing upstream; never the agent's credentials. */
const FORWARDED = ['anthropic-version', 'anthropic-beta', 'content-type', 'accept'];

export function createLlmProxy(deps: LlmProxyDeps): Hono {
  const app = new Hono();
  const llm = deps.policy.llm;
  const base = llm?.base_url.replace(/\/+$/, '') ?? '';

  const authenticate = async (req: Request): Promise<Run | undefined> => {
    const key =
      req.headers.get('x-api-key') ?? /^Bearer\s+(\S+)$/i.exec(req.headers.get('authorization') ?? '')?.[1];
    return key ? deps.runs.authenticate(key) : undefined;
  };

  const forwardHeaders = (req: Request): Headers => {
    const headers = new Headers();
    for (const name of FORWARDED) {
      const value = req.headers.get(name);
      if (value) headers.set(name, value);
    }
    headers.set('x-api-key', deps.apiKey);
    return headers;
  };

  const readBody = async (req: Request): Promise<Record<string, unknown> | Response> => {
    const text = await req.text();
    if (text.length > (deps.maxBody ?? 8 * 1024 * 1024))
      return apiError(413, 'request_too_large', 'The request is too large.');
    try {
      const body = JSON.parse(text) as unknown;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
      return body as Record<string, unknown>;
    } catch {
      return apiError(400, 'invalid_request_error', 'The body must be a JSON object.');
    }
  };

  app.post('/messages/count_tokens', async (c) => {
    const run = await authenticate(c.req.raw);
    if (!run) return apiError(401, 'authentication_error', 'A valid run token is required.');
    if (run.state !== 'active') return apiError(403, 'permission_error', 'bulkhead: this run has ended.');
    const body = await readBody(c.req.raw);
    if (body instanceof Response) return body;
    const upstream = await fetch(`${base}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: forwardHeaders(c.req.raw),
      body: JSON.stringify(body),
    });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json' },
    });
  });

  app.post('/messages', async (c) => {
    const run = await authenticate(c.req.raw);
    if (!run) return apiError(401, 'authentication_error', 'A valid run token is required.');
    if (run.state !== 'active') return apiError(403, 'permission_error', 'bulkhead: this run has ended.');
    if (!llm)
      return apiError(403, 'permission_error', 'bulkhead: no LLM API is configured for this gateway.');
    const profile = deps.policy.profiles[run.profile];
    if (!profile) return apiError(403, 'permission_error', 'bulkhead: unknown profile.');
    const body = await readBody(c.req.raw);
    if (body instanceof Response) return body;
    const model = typeof body.model === 'string' ? body.model : '';
    if (profile.llm.models && !profile.llm.models.includes(model)) {
      return apiError(
        403,
        'permission_error',
        `bulkhead: model ${JSON.stringify(model)} is not allowed for this run.`,
      );
    }
    const requested =
      typeof body.max_tokens === 'number' && body.max_tokens > 0 ? Math.floor(body.max_tokens) : 0;
    if (!requested) return apiError(400, 'invalid_request_error', 'max_tokens is required.');
    const tokens = profile.budgets.tokens;
    const price = llm.prices[model];
    const inputEstimate = estimateInputTokens(body);
    const caps: TokenCaps = {
      ...(tokens?.input !== undefined ? { input: tokens.input } : {}),
      ...(tokens?.output !== undefined ? { output: tokens.output } : {}),
      ...(tokens?.total !== undefined ? { total: tokens.total } : {}),
      ...(profile.budgets.usd !== undefined ? { usd: profile.budgets.usd } : {}),
    };
    const estimateUsd = cost(
      { ...EMPTY_USAGE, input_tokens: inputEstimate, output_tokens: requested },
      price,
    );
    const reservation = await deps.store.tokens.reserve(
      run.id,
      { input: inputEstimate, output: requested, usd: estimateUsd },
      caps,
      1,
    );
    if (!reservation.ok) {
      await deps.events.write({
        kind: 'llm.request',
        runId: run.id,
        decision: 'deny',
        code: 'budget_exhausted',
        actor: `run:${run.id}`,
        data: {
          model,
          dimension: reservation.dimension,
          used: reservation.used,
          cap: reservation.cap,
          estimate: inputEstimate,
        },
      });
      return apiError(
        403,
        'permission_error',
        `bulkhead: this run's ${reservation.dimension} token budget would be exceeded (${reservation.used} of ${reservation.cap} used).`,
      );
    }
    const clamped = Math.min(requested, reservation.grantedOutput);
    const forwarded = { ...body, max_tokens: clamped };
    const stream = body.stream === true;
    const abort = AbortSignal.any([deps.runs.signal(run.id), c.req.raw.signal]);
    const started = performance.now();

    const settle = async (usage: MessageUsage, outcome: string) => {
      const input = chargedInput(usage, tokens);
      await deps.store.tokens.settle(reservation.id, {
        input,
        output: usage.output_tokens,
        usd: cost(usage, price),
      });
      await deps.events.write({
        kind: 'llm.request',
        runId: run.id,
        decision: 'allow',
        code: outcome === 'ok' ? null : outcome,
        actor: `run:${run.id}`,
        data: {
          model,
          stream,
          usage,
          charged_input: input,
          usd: cost(usage, price),
          max_tokens: requested,
          clamped_to: clamped,
          ms: Math.round(performance.now() - started),
        },
      });
    };

    let upstream: Response;
    try {
      upstream = await fetch(`${base}/v1/messages`, {
        method: 'POST',
        headers: forwardHeaders(c.req.raw),
        body: JSON.stringify(forwarded),
        signal: abort,
      });
    } catch (error) {
      await settle(EMPTY_USAGE, abort.aborted ? 'cancelled' : 'upstream_unavailable');
      deps.logger.warn({ err: error, runId: run.id }, 'LLM upstream request failed');
      return apiError(
        abort.aborted ? 403 : 502,
        abort.aborted ? 'permission_error' : 'api_error',
        abort.aborted ? 'bulkhead: this run has ended.' : 'bulkhead: the LLM API could not be reached.',
      );
    }
    const headers = new Headers({
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
    });
    const requestId = upstream.headers.get('request-id');
    if (requestId) headers.set('request-id', requestId);
    if (clamped < requested) headers.set('x-bulkhead-max-tokens-clamped', String(clamped));

    if (!stream || !upstream.body) {
      const text = await upstream.text();
      let usage = EMPTY_USAGE;
      try {
        usage = { ...EMPTY_USAGE, ...((JSON.parse(text) as { usage?: MessageUsage }).usage ?? {}) };
      } catch {
        // Not JSON (an upstream error page): nothing to charge.
      }
      await settle(usage, upstream.ok ? 'ok' : `upstream_${upstream.status}`);
      return new Response(text, { status: upstream.status, headers });
    }

    // Pass-through: each chunk is forwarded as it arrives; usage is read on the side.
    const tracker = new SseUsageTracker();
    const reader = upstream.body.getReader();
    let settled = false;
    const finish = async (outcome: string) => {
      if (settled) return;
      settled = true;
      await settle(tracker.usage, outcome);
    };
    const body$ = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            await finish('ok');
            controller.close();
            return;
          }
          tracker.push(value);
          controller.enqueue(value);
        } catch {
          // Kill, expiry or upstream failure mid-stream: charge what was reported, end the stream.
          await finish(abort.aborted ? 'cut' : 'upstream_error');
          controller.close();
        }
      },
      async cancel() {
        await reader.cancel().catch(() => undefined);
        await finish('client_gone');
      },
    });
    return new Response(body$, { status: upstream.status, headers });
  });

  return app;
}
