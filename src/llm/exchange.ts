/**
 * One request to the model (`/v1/messages`, `/v1/chat/completions` or `/v1/responses`), from
 * the agent's bytes to the answer it reads: authenticate the run, check the
 * model and side doors, reserve its spend (spend.ts), send it with the real
 * key, and answer with the scrubbed result, settling the reservation to the
 * real usage however the request ends (settlement.ts).
 *
 * Streams pass through chunk by chunk and are charged for what they reported
 * or visibly generated even when cut (kill, expiry, client gone, error event,
 * lost connection); refusals and cut streams use the API's own error shapes.
 */

import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Run } from '../runs/run.js';
import { scrubAnswer } from './answer.js';
import { UnreadableAnswer, unreadableBytes, unreadableHeaders } from './answer-body.js';
import { answerScrubber } from './answer-scrubber.js';
import { type BodyResult, readJsonBody } from './body.js';
import { endIfExhausted } from './budget-alerts.js';
import type { ProxyContext } from './context.js';
import { countInputTokens } from './count-tokens.js';
import { apiError } from './errors.js';
import { forwardHeaders, returnedHeaders } from './headers.js';
import { outgoingJson } from './outgoing-json.js';
import { recordDenial } from './refusals.js';
import { admitRun, type Checked, check, checkRequest, refuse } from './request-check.js';
import { ScrubbedSse } from './scrubbed-sse.js';
import { planSamplings } from './server-tool-fees.js';
import { type Outcome, settlement } from './settlement.js';
import { cancelFor } from './signals.js';
import { reserveSpend, type Spend } from './spend.js';
import { type IdleGuard, idleGuard, StalledAnswer } from './stream-idle.js';
import { postUpstream, type Tap, type UpstreamResponse } from './upstream.js';
import { EMPTY_USAGE, type MessageUsage } from './usage.js';
import type { WireFormat } from './wire-format.js';

const runEnded = () => apiError(403, 'permission_error', 'bulkhead: this run has ended.');

/**
 * `out`: the agent's node response when the proxy is served by node (@hono/node-server); a
 * streamed answer is then written to it directly, without a web stream in between.
 *
 * On SQLite the run is not read before the reservation: the request is checked against the run
 * as the store last read it, and the reservation's transaction confirms nothing has written the
 * run since (`remembered`). A request that would be refused, or would taint the run, or a run
 * that changed, takes the path that reads the run first, with the body already read.
 */
export async function exchange(
  ctx: ProxyContext,
  req: Request,
  format: WireFormat,
  out?: ServerResponse,
): Promise<Response> {
  const remembered = ctx.rememberedRun(req);
  let read: BodyResult | undefined;
  if (remembered) {
    read = await readJsonBody(req, ctx.maxBody, out?.req);
    // Only a request that passes with nothing to write (no refusal, no taint) skips reading the run.
    const verdict = read.ok ? check(ctx, remembered, read, req, format) : undefined;
    if (verdict?.ok && !verdict.opens) {
      const spend = await reserve(ctx, verdict.checked, req, format, remembered);
      if (spend.ok || !('stale' in spend)) return send(ctx, verdict.checked, spend, req, format, out);
    }
  }
  const run = await ctx.authenticate(req);
  if (!run) return apiError(401, 'authentication_error', 'A valid run token is required.');
  const admitted = admitRun(ctx, run);
  if (!admitted.ok) return refuse(ctx, run, admitted.refusal);
  read ??= await readJsonBody(req, ctx.maxBody, out?.req);
  if (!read.ok) return read.response;
  const verdict = checkRequest(admitted, run, read, req, format);
  if (!verdict.ok) return refuse(ctx, run, verdict.refusal);
  // Tainted before the door's content can arrive.
  if (verdict.opens) await ctx.deps.runs.taint(run.id, `llm:${verdict.opens}`);
  const spend = await reserve(ctx, verdict.checked, req, format);
  // Read, not remembered: never stale.
  if (!spend.ok && 'stale' in spend) throw new Error('a reservation without a remembered run was stale');
  return send(ctx, verdict.checked, spend, req, format, out);
}

function reserve(ctx: ProxyContext, c: Checked, req: Request, format: WireFormat, remembered?: Run) {
  return reserveSpend({
    store: ctx.deps.store,
    runId: c.run.id,
    model: c.model,
    body: c.body,
    bodyBytes: c.bytes,
    requested: c.requested,
    budgets: c.profile.budgets,
    price: c.price,
    feesUsd: c.feesUsd,
    samplings: planSamplings(c.tools),
    resultInput: c.tools.resultInput ?? 0,
    countTokens: () =>
      format.countable ? countInputTokens(ctx, c.body, req, c.run.id) : Promise.resolve(undefined),
    ...(remembered ? { checked: remembered } : {}),
  });
}

/** Reserved (or refused for its budget): the request sent and its answer passed back, scrubbed. */
async function send(
  ctx: ProxyContext,
  checked: Checked,
  spend: Exclude<Spend, { stale: true }>,
  req: Request,
  format: WireFormat,
  out: ServerResponse | undefined,
): Promise<Response> {
  const { deps } = ctx;
  const { run, profile, body, model, requested, price, caps } = checked;
  if (!spend.ok) {
    await recordDenial(ctx, run, 'budget_exhausted', {
      model,
      dimension: spend.dimension,
      used: spend.used,
      cap: spend.cap,
      estimate: spend.input,
    });
    await endIfExhausted(ctx.deps, run, caps, price);
    const what = spend.dimension === 'usd' ? 'spend (USD)' : `${spend.dimension} token`;
    const used = spend.dimension === 'usd' ? spend.used.toFixed(4) : spend.used;
    // Said so the agent can fix the request rather than give up: its server tools' bound.
    const fees = toolBoundHint(checked, spend.dimension);
    return apiError(
      402,
      'billing_error',
      `bulkhead: this run's ${what} budget would be exceeded (${used} of ${spend.cap} used).${fees}`,
    );
  }
  const clamped = spend.clamped;
  const stream = body.stream === true;
  const runSignal = deps.runs.signal(run.id);
  // The agent leaving is its node response closing, when node serves us (no AbortSignal to create).
  const abort = cancelFor([runSignal], out ?? req.signal);
  const scrubber = deps.scrubberFor(run.profile);
  const settle = settlement(ctx, {
    run,
    profile,
    model,
    stream,
    requested,
    clamped,
    price,
    caps,
    reservationId: spend.reservationId,
    release: () => abort.dispose(),
    tools: checked.tools,
  });
  // What the request may cost at most; charged when the real usage cannot be known
  // (a plain answer cut off by a kill): the API bills work it started even if the answer never arrives.
  const calls = checked.tools.calls;
  const asReserved: MessageUsage = {
    ...EMPTY_USAGE,
    input_tokens: spend.input,
    output_tokens: clamped,
    server_tool_calls: calls,
  };

  if (abort.aborted) {
    // Killed or gone while the reservation was made: nothing was sent, nothing is owed.
    await settle(EMPTY_USAGE, runSignal.aborted ? 'cut' : 'client_gone');
    return runEnded();
  }
  // A stream that stops arriving is cut (stream-idle.ts); a plain answer may take its time.
  const guard: IdleGuard | undefined = stream ? idleGuard(abort, ctx.llm?.stream_idle_s ?? 300) : undefined;
  let upstream: UpstreamResponse;
  try {
    upstream = await postUpstream(
      ctx.upstream(format.path),
      forwardHeaders(req, deps.apiKey, format),
      outgoingJson(format.withMaxTokens(body, clamped), checked.bytes),
      abort,
    );
  } catch (error) {
    guard?.stop();
    if (abort.reason instanceof StalledAnswer) {
      // Sent, and nothing came back: the API may have started the work, so it costs what was reserved.
      await settle(asReserved, abort.reason.code);
      deps.logger.warn({ runId: run.id }, 'LLM upstream stalled before answering');
      return apiError(502, 'api_error', `bulkhead: ${abort.reason.message}.`);
    }
    if (abort.aborted) {
      await settle(asReserved, runSignal.aborted ? 'cut' : 'client_gone');
      return runEnded();
    }
    // Nothing came back: the request most likely never reached the API.
    await settle(EMPTY_USAGE, 'upstream_unavailable');
    deps.logger.warn({ err: error, runId: run.id }, 'LLM upstream request failed');
    return apiError(502, 'api_error', 'bulkhead: the LLM API could not be reached.');
  }
  const unreadable = unreadableHeaders(upstream.headers);
  if (unreadable) {
    guard?.stop();
    upstream.discard();
    return refuseUnreadable(ctx, run.id, unreadable, () => settle(asReserved, unreadable.code));
  }
  const headers = returnedHeaders(upstream, scrubber);
  if (clamped < requested) headers['x-bulkhead-max-tokens-clamped'] = String(clamped);

  const ok = upstream.status >= 200 && upstream.status < 300;
  // The answer's own type decides how it is scrubbed: an upstream that streams an answer nobody
  // asked to stream is scrubbed as a stream, never passed through.
  const sse = /^text\/event-stream/i.test(String(upstream.headers['content-type'] ?? ''));
  if (!sse) {
    // Asked to stream and answered plain (an error page): read as any plain answer.
    guard?.stop();
    let text: string;
    try {
      text = await upstream.text();
    } catch (error) {
      if (error instanceof UnreadableAnswer)
        return refuseUnreadable(ctx, run.id, error, () => settle(asReserved, error.code));
      // Cut while the answer was arriving: its usage is unknown, so it costs what was reserved.
      await settle(asReserved, runSignal.aborted ? 'cut' : abort.aborted ? 'client_gone' : 'upstream_error');
      return runSignal.aborted
        ? runEnded()
        : apiError(502, 'api_error', 'bulkhead: the LLM API answer was cut off.');
    }
    // A success that does not say what it cost still cost something (the API billed the answer
    // it sent): charged what was reserved, never nothing. An error without usage costs nothing.
    let usage = ok ? asReserved : EMPTY_USAGE;
    try {
      const parsed = JSON.parse(text) as { usage?: unknown } | null;
      const reported = parsed?.usage;
      if (reported !== null && typeof reported === 'object') usage = format.usage(reported, parsed);
    } catch {
      // Not JSON (an upstream error page): as above.
    }
    await settle(usage, ok ? 'ok' : `upstream_${upstream.status}`);
    // Every answer, error or not: a reflecting upstream or the model itself may quote a secret.
    return new Response(scrubAnswer(text, scrubber), { status: upstream.status, headers });
  }

  // Each chunk is forwarded as soon as the events it completes are scrubbed; usage is read from
  // the same parse.
  const tracker = format.tracker(body);
  const scrubbed = new ScrubbedSse(format.dialect(answerScrubber(scrubber, [model])), (data) => {
    guard?.alive();
    tracker.observe(data);
  });
  // An error event in the stream explains its end better than whatever closed it afterwards.
  const outcome = (fallback: Outcome): Outcome =>
    tracker.errorType ? `upstream_${tracker.errorType}` : fallback;
  const tap: Tap = {
    chunk: (bytes) => {
      // Throwing cuts the answer: `cut` below is told why.
      const unreadable = unreadableBytes(bytes);
      if (unreadable) throw unreadable;
      return scrubbed.push(bytes);
    },
    // Settled before the stream closes: the agent's next request sees this one charged. What
    // the scrubber held back is released only for a complete answer; a cut one drops it.
    end: async () => {
      guard?.stop();
      await settle(
        tracker.charge(clamped, spend.input, calls),
        outcome(tracker.complete ? 'ok' : 'upstream_error'),
      );
      return tracker.complete ? scrubbed.end() : undefined;
    },
    // Kill, expiry, client gone or upstream failure mid-stream: charge what was
    // reported or visibly generated, and tell a listening SDK why the stream ends,
    // in the API's own shape (only between events, never inside one).
    cut: async (reason) => {
      guard?.stop();
      const killed = runSignal.aborted;
      const unreadable = reason instanceof UnreadableAnswer;
      const stalled = !killed && abort.reason instanceof StalledAnswer;
      await settle(
        // An answer that could not be read cannot say what it cost: what was reserved.
        unreadable ? asReserved : tracker.charge(clamped, spend.input, calls),
        unreadable
          ? reason.code
          : stalled
            ? 'upstream_stalled'
            : outcome(killed ? 'cut' : abort.aborted ? 'client_gone' : 'upstream_error'),
      );
      if (unreadable)
        deps.logger.warn({ runId: run.id, reason: reason.reason }, 'LLM answer refused: unreadable');
      if (stalled) deps.logger.warn({ runId: run.id }, 'LLM stream cut: the API sent nothing whole in time');
      if (abort.clientGone) return undefined;
      // Scrubbed events are always sent whole, so the stream is between events here.
      return killed
        ? format.streamError('permission_error', 'bulkhead: this run has ended.')
        : format.streamError('api_error', 'bulkhead: the LLM API stream failed.');
    },
    cancelled: () => {
      guard?.stop();
      return settle(tracker.charge(clamped, spend.input, calls), outcome('client_gone'));
    },
  };
  // Straight to the socket when node serves us; the "already sent" answer (status 200) tells
  // the adapter so. Other statuses keep the web stream, so middleware reads the true status.
  if (out && upstream.status === 200) {
    upstream.pipe(out, upstream.status, headers, tap);
    return RESPONSE_ALREADY_SENT;
  }
  return new Response(upstream.stream(tap), { status: upstream.status, headers });
}

/** A 502 for an answer that could not be read (see answer-body.ts), settled first and logged. */
async function refuseUnreadable(
  ctx: ProxyContext,
  runId: string,
  unreadable: UnreadableAnswer,
  settle: () => Promise<unknown>,
): Promise<Response> {
  await settle();
  ctx.deps.logger.warn({ runId, reason: unreadable.reason }, 'LLM answer refused: unreadable');
  return apiError(502, 'api_error', `bulkhead: ${unreadable.message}.`);
}

/**
 * What the request's server tools may cost and read, and which bound to lower, where that is why
 * the budget refused it: said so the agent can fix the request rather than give up.
 */
function toolBoundHint(checked: Checked, dimension: string): string {
  const { bound, resultInput = 0 } = checked.tools;
  if (!bound || dimension === 'output') return '';
  const cost = dimension === 'usd' && checked.feesUsd > 0 ? `cost up to $${checked.feesUsd.toFixed(4)}` : '';
  const read = resultInput > 0 ? `read up to ${resultInput} tokens of results` : '';
  const what = [cost, read].filter(Boolean).join(' and ');
  return what ? ` Its server tools may ${what}: ${bound}.` : '';
}
