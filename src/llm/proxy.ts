/**
 * The LLM API proxy (`/v1/messages`, `/v1/messages/count_tokens`), compatible
 * with the Anthropic Messages API. The agent authenticates with its run token
 * (as x-api-key or a bearer); the real key is injected here, so the agent
 * never holds it and the run token never reaches the upstream.
 *
 * Budget: each request reserves its input estimate (`estimateInputTokens`:
 * one token per 3 characters, images at their ceiling) plus a max_tokens
 * clamped to what is left, atomically, before it is sent; a request whose
 * input alone would overrun is refused unsent. It settles to the real usage
 * afterwards (cache tokens weighted by the profile), and the settlement that
 * crosses an alert threshold reports it, once. Streams pass through chunk by
 * chunk and are charged for what they reported or visibly generated even when
 * cut (kill, expiry, client gone, error event, lost connection). Refusals and
 * cut streams use the API's own error shapes, so SDKs surface them cleanly.
 */
import { Hono } from 'hono';
import { type Crossing, tokenCrossings } from '../budget/thresholds.js';
import { exhaustedDimension, type TokenAmounts, type TokenCaps } from '../budget/tokens.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { Policy } from '../policy/schema/index.js';
import type { ProfileLlm } from '../policy/schema/llm.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import type { Store } from '../store/store.js';
import { scrubAnswer } from './answer.js';
import { anthropicDialect } from './anthropic-sse.js';
import { readJsonBody } from './body.js';
import { apiError } from './errors.js';
import {
  OpenAiUsageTracker,
  openaiDialect,
  openaiRequested,
  openaiSideDoor,
  openaiStreamError,
  openaiUsage,
  openaiWithMaxTokens,
} from './openai.js';
import { ScrubbedSse, type SseDialect } from './scrubbed-sse.js';
import { findSideDoor, type SideDoor } from './side-doors.js';
import { linkSignals } from './signals.js';
import { capsOf, minRequestUsd, reserveSpend } from './spend.js';
import { postUpstream, type UpstreamResponse } from './upstream.js';
import {
  chargedInput,
  cost,
  EMPTY_USAGE,
  type MessageUsage,
  mergeUsage,
  type Price,
  SseUsageTracker,
  sseError,
} from './usage.js';

export interface LlmProxyDeps {
  policy: Policy;
  apiKey: string;
  store: Store;
  runs: RunService;
  events: EventWriter;
  logger: Logger;
  /** The scrubber for what agents of a profile receive (its PII actions). */
  scrubberFor(profile: string): Scrubber;
  /** Where budget threshold alerts go besides the audit log; none when undefined. */
  notifier?: Notifier;
  /** Largest request body accepted, in bytes. */
  maxBody?: number;
}

/** How a request ended, as recorded on its `llm.request` event (`code`). */
type Outcome =
  | 'ok'
  | 'cut'
  | 'client_gone'
  | 'upstream_error'
  | 'upstream_unavailable'
  | `upstream_${string}`;

function formatAmount(c: Crossing): string {
  return c.dimension === 'usd' ? `$${c.used.toFixed(2)} of $${c.cap}` : `${c.used}/${c.cap}`;
}

function returnedHeaders(upstream: UpstreamResponse): Headers {
  const headers = new Headers();
  for (const name of RETURNED) {
    const value = upstream.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return headers;
}

/** Headers worth passing upstream; never the agent's credentials. */
const FORWARDED = ['anthropic-version', 'anthropic-beta', 'content-type', 'accept'];
/** Headers worth passing back: the SDKs read them to decide on retries and to report request ids. */
const RETURNED = ['content-type', 'request-id', 'retry-after', 'x-should-retry'];

/**
 * The answer for a run that has ended. An exhausted run's refusal is a
 * billing error like any budget refusal, so the agent does not take it for
 * a failed sign-in.
 */
function ended(run: Run): Response {
  return run.state === 'exhausted'
    ? apiError(
        402,
        'billing_error',
        `bulkhead: this run has used its budget (${run.endReason ?? 'exhausted'}).`,
      )
    : apiError(403, 'permission_error', 'bulkhead: this run has ended.');
}

/** What differs between the two front doors; everything else (auth, budgets, scrubbing) is shared. */
interface WireFormat {
  /** The upstream path, under the configured base URL. */
  path: string;
  /** max_tokens as the agent asked (0: missing, refused). */
  requested(body: Record<string, unknown>): number;
  withMaxTokens(body: Record<string, unknown>, max: number): Record<string, unknown>;
  sideDoor(body: Record<string, unknown>, beta: string | null, allowed: ProfileLlm): SideDoor | undefined;
  usage(reported: unknown): MessageUsage;
  tracker(): UsageTracker;
  dialect(scrubber: Scrubber): SseDialect;
  streamError(type: string, message: string): Uint8Array;
}

interface UsageTracker {
  observe(data: unknown): void;
  charge(maxTokens: number): MessageUsage;
  readonly complete: boolean;
  readonly errorType: string | undefined;
}

const ANTHROPIC: WireFormat = {
  path: '/v1/messages',
  requested: (body) =>
    typeof body.max_tokens === 'number' && body.max_tokens > 0 ? Math.floor(body.max_tokens) : 0,
  withMaxTokens: (body, max) => ({ ...body, max_tokens: max }),
  sideDoor: findSideDoor,
  usage: (reported) => mergeUsage(EMPTY_USAGE, reported),
  tracker: () => new SseUsageTracker(),
  dialect: anthropicDialect,
  streamError: sseError,
};

const OPENAI: WireFormat = {
  path: '/v1/chat/completions',
  requested: openaiRequested,
  withMaxTokens: openaiWithMaxTokens,
  sideDoor: openaiSideDoor,
  usage: openaiUsage,
  tracker: () => new OpenAiUsageTracker(),
  dialect: openaiDialect,
  streamError: openaiStreamError,
};

export function createLlmProxy(deps: LlmProxyDeps): Hono {
  const app = new Hono();
  const llm = deps.policy.llm;
  const base = llm?.base_url.replace(/\/+$/, '') ?? '';

  const authenticate = async (req: Request): Promise<Run | undefined> => {
    const key =
      req.headers.get('x-api-key') ?? /^Bearer\s+(\S+)$/i.exec(req.headers.get('authorization') ?? '')?.[1];
    return key ? deps.runs.authenticate(key) : undefined;
  };

  const forwardHeaders = (req: Request, format: WireFormat = ANTHROPIC): Record<string, string> => {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) {
      const value = req.headers.get(name);
      if (value) headers[name] = value;
    }
    // Set last: whatever key the agent sent is never what reaches the API.
    headers['x-api-key'] = deps.apiKey;
    if (format === OPENAI) headers.authorization = `Bearer ${deps.apiKey}`;
    return headers;
  };

  const maxBody = deps.maxBody ?? 8 * 1024 * 1024;

  app.post('/messages/count_tokens', async (c) => {
    const run = await authenticate(c.req.raw);
    if (!run) return apiError(401, 'authentication_error', 'A valid run token is required.');
    if (run.state !== 'active') return ended(run);
    const read = await readJsonBody(c.req.raw, maxBody);
    if (!read.ok) return read.response;
    const refused = await sideDoor(run, read.body, c.req.raw);
    if (refused) return refused;
    const linked = linkSignals([deps.runs.signal(run.id), c.req.raw.signal]);
    try {
      let upstream: UpstreamResponse;
      try {
        upstream = await postUpstream(
          new URL(`${base}/v1/messages/count_tokens`),
          forwardHeaders(c.req.raw),
          JSON.stringify(read.body),
          linked.signal,
        );
      } catch {
        return apiError(502, 'api_error', 'bulkhead: the LLM API could not be reached.');
      }
      let text: string;
      try {
        text = await upstream.text();
      } catch {
        return apiError(502, 'api_error', 'bulkhead: the LLM API answer was cut off.');
      }
      return new Response(scrubAnswer(text, deps.scrubberFor(run.profile)), {
        status: upstream.status,
        headers: returnedHeaders(upstream),
      });
    } finally {
      linked.dispose();
    }
  });

  app.post('/messages', (c) => exchange(c.req.raw, ANTHROPIC));
  app.post('/chat/completions', (c) => exchange(c.req.raw, OPENAI));
  app.get('/models', async (c) => {
    const run = await authenticate(c.req.raw);
    if (!run) return apiError(401, 'authentication_error', 'A valid run token is required.');
    if (run.state !== 'active') return ended(run);
    const allowed = deps.policy.profiles[run.profile]?.llm.models ?? Object.keys(llm?.prices ?? {});
    // One list both SDKs read: OpenAI's (object, owned_by) and Anthropic's (type, display_name).
    const data = allowed.map((id) => ({
      id,
      object: 'model',
      type: 'model',
      display_name: id,
      created: 0,
      created_at: '1970-01-01T00:00:00Z',
      owned_by: 'bulkhead',
    }));
    return Response.json({
      object: 'list',
      data,
      has_more: false,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
    });
  });

  const exchange = async (req: Request, format: WireFormat): Promise<Response> => {
    const c = { req: { raw: req } };
    const run = await authenticate(c.req.raw);
    if (!run) return apiError(401, 'authentication_error', 'A valid run token is required.');
    if (run.state !== 'active') return ended(run);
    if (!llm)
      return apiError(403, 'permission_error', 'bulkhead: no LLM API is configured for this gateway.');
    const profile = deps.policy.profiles[run.profile];
    if (!profile) return apiError(403, 'permission_error', 'bulkhead: unknown profile.');
    const read = await readJsonBody(c.req.raw, maxBody);
    if (!read.ok) return read.response;
    const body = read.body;
    const model = typeof body.model === 'string' ? body.model : '';
    if (profile.llm.models && !profile.llm.models.includes(model)) {
      await deps.events.write({
        kind: 'llm.request',
        runId: run.id,
        decision: 'deny',
        code: 'model_not_allowed',
        actor: `run:${run.id}`,
        data: { model },
      });
      return apiError(
        403,
        'permission_error',
        `bulkhead: model ${JSON.stringify(model)} is not allowed for this run.`,
      );
    }
    const refused = await sideDoor(run, body, c.req.raw, format);
    if (refused) return refused;
    const requested = format.requested(body);
    if (!requested) return apiError(400, 'invalid_request_error', 'max_tokens is required.');
    const tokens = profile.budgets.tokens;
    const price = llm.prices[model];
    const caps = capsOf(profile.budgets);
    if (caps.usd !== undefined && !price) {
      // Charging $0 would let an unpriced model spend without limit under a USD cap.
      await deps.events.write({
        kind: 'llm.request',
        runId: run.id,
        decision: 'deny',
        code: 'unpriced_model',
        actor: `run:${run.id}`,
        data: { model },
      });
      return apiError(
        400,
        'invalid_request_error',
        `bulkhead: model ${JSON.stringify(model)} has no price in llm.prices, and this run has a USD budget.`,
      );
    }
    const spend = await reserveSpend({
      store: deps.store,
      runId: run.id,
      model,
      body,
      requested,
      budgets: profile.budgets,
      price,
      countTokens: () =>
        format === ANTHROPIC ? countTokens(body, c.req.raw, run.id) : Promise.resolve(undefined),
    });
    if (!spend.ok) {
      await deps.events.write({
        kind: 'llm.request',
        runId: run.id,
        decision: 'deny',
        code: 'budget_exhausted',
        actor: `run:${run.id}`,
        data: { model, dimension: spend.dimension, used: spend.used, cap: spend.cap, estimate: spend.input },
      });
      await endIfExhausted(run, caps, price);
      const what = spend.dimension === 'usd' ? 'spend (USD)' : `${spend.dimension} token`;
      const used = spend.dimension === 'usd' ? spend.used.toFixed(4) : spend.used;
      return apiError(
        402,
        'billing_error',
        `bulkhead: this run's ${what} budget would be exceeded (${used} of ${spend.cap} used).`,
      );
    }
    const clamped = spend.clamped;
    const inputEstimate = spend.input;
    const reservation = { id: spend.reservationId };
    const forwarded = format.withMaxTokens(body, clamped);
    const stream = body.stream === true;
    const runSignal = deps.runs.signal(run.id);
    const linked = linkSignals([runSignal, c.req.raw.signal]);
    const abort = linked.signal;
    const scrubber = deps.scrubberFor(run.profile);
    const started = performance.now();
    // What the request may cost at most; charged when the real usage cannot be known
    // (a plain answer cut off by a kill): the API bills work it started even if the answer never arrives.
    const asReserved: MessageUsage = { ...EMPTY_USAGE, input_tokens: inputEstimate, output_tokens: clamped };

    let settled = false;
    const settle = async (usage: MessageUsage, outcome: Outcome) => {
      // Exactly once per reservation: a cut stream can end through several paths at the same time.
      if (settled) return;
      settled = true;
      linked.dispose();
      const charged: TokenAmounts = {
        input: chargedInput(usage, tokens),
        output: usage.output_tokens,
        usd: cost(usage, price),
      };
      try {
        const after = await deps.store.tokens.settle(reservation.id, charged);
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
            charged_input: charged.input,
            usd: charged.usd,
            max_tokens: requested,
            clamped_to: clamped,
            ms: Math.round(performance.now() - started),
          },
        });
        if (after) {
          await alert(run, tokenCrossings(after, charged, caps, profile.budgets.alert_at));
          await endIfExhausted(run, caps, price, after);
        }
      } catch (error) {
        // The reservation stays open and keeps counting against the budget: failing closed.
        deps.logger.error({ err: error, runId: run.id }, 'LLM usage could not be settled');
      }
    };

    if (abort.aborted) {
      // Killed or gone while the reservation was made: nothing was sent, nothing is owed.
      await settle(EMPTY_USAGE, runSignal.aborted ? 'cut' : 'client_gone');
      return apiError(403, 'permission_error', 'bulkhead: this run has ended.');
    }
    let upstream: UpstreamResponse;
    try {
      upstream = await postUpstream(
        new URL(`${base}${format.path}`),
        forwardHeaders(c.req.raw, format),
        JSON.stringify(forwarded),
        abort,
      );
    } catch (error) {
      if (abort.aborted) {
        await settle(asReserved, runSignal.aborted ? 'cut' : 'client_gone');
        return apiError(403, 'permission_error', 'bulkhead: this run has ended.');
      }
      // Nothing came back: the request most likely never reached the API.
      await settle(EMPTY_USAGE, 'upstream_unavailable');
      deps.logger.warn({ err: error, runId: run.id }, 'LLM upstream request failed');
      return apiError(502, 'api_error', 'bulkhead: the LLM API could not be reached.');
    }
    const headers = returnedHeaders(upstream);
    if (clamped < requested) headers.set('x-bulkhead-max-tokens-clamped', String(clamped));

    const ok = upstream.status >= 200 && upstream.status < 300;
    // The answer's own type decides how it is scrubbed: an upstream that streams an answer nobody
    // asked to stream is scrubbed as a stream, never passed through.
    const sse = /^text\/event-stream/i.test(String(upstream.headers['content-type'] ?? ''));
    if (!sse) {
      let text: string;
      try {
        text = await upstream.text();
      } catch {
        // Cut while the answer was arriving: its usage is unknown, so it costs what was reserved.
        await settle(
          asReserved,
          runSignal.aborted ? 'cut' : abort.aborted ? 'client_gone' : 'upstream_error',
        );
        return runSignal.aborted
          ? apiError(403, 'permission_error', 'bulkhead: this run has ended.')
          : apiError(502, 'api_error', 'bulkhead: the LLM API answer was cut off.');
      }
      let usage = EMPTY_USAGE;
      try {
        usage = format.usage((JSON.parse(text) as { usage?: unknown }).usage);
      } catch {
        // Not JSON (an upstream error page): nothing to charge.
      }
      await settle(usage, ok ? 'ok' : `upstream_${upstream.status}`);
      // Every answer, error or not: a reflecting upstream or the model itself may quote a secret.
      return new Response(scrubAnswer(text, scrubber), { status: upstream.status, headers });
    }

    // Each chunk is forwarded as soon as the events it completes are scrubbed; usage is read from
    // the same parse.
    const tracker = format.tracker();
    const scrubbed = new ScrubbedSse(format.dialect(scrubber), (data) => tracker.observe(data));
    // An error event in the stream explains its end better than whatever closed it afterwards.
    const outcome = (fallback: Outcome): Outcome =>
      tracker.errorType ? `upstream_${tracker.errorType}` : fallback;
    const piped = upstream.stream({
      chunk: (bytes) => scrubbed.push(bytes),
      // Settled before the stream closes: the agent's next request sees this one charged. What
      // the scrubber held back is released only for a complete answer; a cut one drops it.
      end: async () => {
        await settle(tracker.charge(clamped), outcome(tracker.complete ? 'ok' : 'upstream_error'));
        return tracker.complete ? scrubbed.end() : undefined;
      },
      // Kill, expiry, client gone or upstream failure mid-stream: charge what was
      // reported or visibly generated, and tell a listening SDK why the stream ends,
      // in the API's own shape (only between events, never inside one).
      cut: async () => {
        const killed = runSignal.aborted;
        await settle(
          tracker.charge(clamped),
          outcome(killed ? 'cut' : abort.aborted ? 'client_gone' : 'upstream_error'),
        );
        if (c.req.raw.signal.aborted) return undefined;
        // Scrubbed events are always sent whole, so the stream is between events here.
        return killed
          ? format.streamError('permission_error', 'bulkhead: this run has ended.')
          : format.streamError('api_error', 'bulkhead: the LLM API stream failed.');
      },
      cancelled: () => settle(tracker.charge(clamped), outcome('client_gone')),
    });
    return new Response(piped, { status: upstream.status, headers });
  };

  /** Ends the run as `exhausted` when a budget has no room left for the smallest request. */
  const endIfExhausted = async (run: Run, caps: TokenCaps, price: Price | undefined, used?: TokenAmounts) => {
    const usage = used ?? (await deps.store.tokens.usage(run.id));
    const dimension = exhaustedDimension(usage, caps, minRequestUsd(price));
    if (!dimension) return;
    const what = dimension === 'usd' ? 'spend (USD)' : `${dimension} token`;
    // In-flight requests keep going (they were within budget); only new ones are refused.
    await deps.runs.end(run.id, 'exhausted', `${what} budget used`);
  };

  /** The exact input token count of a request, from the API; undefined when it cannot be had. */
  const countTokens = async (
    body: Record<string, unknown>,
    req: Request,
    runId: string,
  ): Promise<number | undefined> => {
    const fields = ['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking'] as const;
    const counted = Object.fromEntries(fields.filter((f) => body[f] !== undefined).map((f) => [f, body[f]]));
    const linked = linkSignals([deps.runs.signal(runId), req.signal]);
    try {
      const upstream = await postUpstream(
        new URL(`${base}/v1/messages/count_tokens`),
        forwardHeaders(req),
        JSON.stringify(counted),
        linked.signal,
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
  };

  /** The refusal for a request that opens a side door its profile does not allow, recorded. */
  const sideDoor = async (
    run: Run,
    body: Record<string, unknown>,
    req: Request,
    format: WireFormat = ANTHROPIC,
  ) => {
    const profile = deps.policy.profiles[run.profile];
    if (!profile) return apiError(403, 'permission_error', 'bulkhead: unknown profile.');
    const door = format.sideDoor(body, req.headers.get('anthropic-beta'), profile.llm);
    if (!door) return undefined;
    await deps.events.write({
      kind: 'llm.request',
      runId: run.id,
      decision: 'deny',
      code: 'side_door',
      actor: `run:${run.id}`,
      data: { field: door.field, model: typeof body.model === 'string' ? body.model : null },
    });
    return apiError(400, 'invalid_request_error', `bulkhead: ${door.field}: ${door.message}.`);
  };

  const alert = async (run: Run, crossings: Crossing[]) => {
    for (const crossing of crossings) {
      await deps.events.write({
        kind: 'budget.alert',
        runId: run.id,
        code: crossing.dimension,
        actor: 'system',
        data: { ...crossing },
      });
      deps.notifier?.send({
        kind: 'budget.alert',
        title: `Run ${run.id} used ${Math.round(crossing.fraction * 100)}% of its ${crossing.dimension.replace('_', ' ')} budget (${formatAmount(crossing)})`,
        data: { run_id: run.id, profile: run.profile, ...crossing },
      });
    }
  };

  return app;
}
