/**
 * The checks a request to the model passes before anything is reserved for it, in order: the
 * run is active, an LLM API is configured, the run's profile exists (`admitRun`); then, on the
 * body, the model list, the side doors, the flow rules, `max_tokens`, a price under a USD cap
 * (`checkRequest`). Pure: they read the run and the body and write nothing. What a refusal
 * records and answers is `refuse`; tainting a run whose request opens a door is the caller's.
 *
 * Both of exchange.ts's paths take their verdict from here (the one on the run as read, the one
 * on the run as remembered), so a check added here holds on both.
 */
import type { TokenCaps } from '../budget/tokens.js';
import type { Policy } from '../policy/schema/index.js';
import type { Profile } from '../policy/schema/profile.js';
import type { Run } from '../runs/run.js';
import type { BodyResult } from './body.js';
import type { ProxyContext } from './context.js';
import { apiError } from './errors.js';
import { ended, recordDenial, refuseDoor } from './refusals.js';
import { containerPrices, feesUsd, own, serverToolPrices, type ToolPlan } from './server-tool-fees.js';
import { openedDoor, type SideDoorFlow, sideDoorFlow, sideDoorFlowMessage } from './side-door-flow.js';
import type { SideDoor } from './side-doors.js';
import { capsOf } from './spend.js';
import type { Price } from './usage.js';
import type { WireFormat } from './wire-format.js';

/** A request that passed every check, ready to reserve and send. */
export interface Checked {
  run: Run;
  profile: Profile;
  body: Record<string, unknown>;
  bytes: number;
  model: string;
  requested: number;
  price: Price | undefined;
  caps: TokenCaps;
  /** The server tool uses it may pay for at most; `body` is the plan's (with the bound it sends). */
  tools: ToolPlan;
  /** What those uses cost at most, reserved with the rest. */
  feesUsd: number;
}

/** Why a request is refused before anything is reserved, with what its refusal records. */
export type Refusal =
  | { code: 'run_ended' }
  | { code: 'no_llm' }
  | { code: 'unknown_profile' }
  | { code: 'model_not_allowed'; model: string }
  | { code: 'side_door'; door: SideDoor; model: string | null }
  | { code: 'flow_blocked'; flow: SideDoorFlow }
  | { code: 'max_tokens_required' }
  | { code: 'invalid_field'; message: string }
  | { code: 'unpriced_model'; model: string };

/** The run's part of the checks: what the body's part needs, or the refusal. */
export type Admission =
  | { ok: true; profile: Profile; llm: NonNullable<Policy['llm']> }
  | { ok: false; refusal: Refusal };

/**
 * Every check passed. `opens`: the side door the request uses (its request path), whose content
 * is open-world: the run must be tainted before the request is sent.
 */
export type Verdict =
  | { ok: true; checked: Checked; opens: string | undefined }
  | { ok: false; refusal: Refusal };

type ReadBody = Extract<BodyResult, { ok: true }>;

export function admitRun(ctx: ProxyContext, run: Run): Admission {
  if (run.state !== 'active') return { ok: false, refusal: { code: 'run_ended' } };
  const { llm } = ctx;
  if (!llm) return { ok: false, refusal: { code: 'no_llm' } };
  const profile = ctx.deps.policy.profiles[run.profile];
  if (!profile) return { ok: false, refusal: { code: 'unknown_profile' } };
  return { ok: true, profile, llm };
}

export function checkRequest(
  admitted: Extract<Admission, { ok: true }>,
  run: Run,
  read: ReadBody,
  req: Request,
  format: WireFormat,
): Verdict {
  const { profile, llm } = admitted;
  const body = read.body;
  const model = typeof body.model === 'string' ? body.model : '';
  if (profile.llm.models && !profile.llm.models.includes(model))
    return { ok: false, refusal: { code: 'model_not_allowed', model } };
  const door = format.sideDoor(body, req.headers.get('anthropic-beta'), profile.llm);
  if (door)
    return {
      ok: false,
      refusal: { code: 'side_door', door, model: typeof body.model === 'string' ? body.model : null },
    };
  const flow = sideDoorFlow(run, profile, body, format);
  if (flow) return { ok: false, refusal: { code: 'flow_blocked', flow } };
  const invalid = format.invalid?.(body);
  if (invalid) return { ok: false, refusal: { code: 'invalid_field', message: invalid } };
  const requested = format.requested(body);
  if (!requested) return { ok: false, refusal: { code: 'max_tokens_required' } };
  // Its own entry only: `constructor` read a function as its price, passed, and was charged $0
  // (its NaN cost is quantized to nothing), with no cap on its output.
  const modelPrice = own(llm.prices, model);
  // Per request: a container costs by the memory the request asks for.
  const toolPrices = containerPrices(body, serverToolPrices(llm.server_tool_prices));
  const price = modelPrice ? { ...modelPrice, tools: toolPrices } : undefined;
  const caps = capsOf(profile.budgets);
  // Charging $0 would let an unpriced model spend without limit under a USD cap.
  if (caps.usd !== undefined && !price) return { ok: false, refusal: { code: 'unpriced_model', model } };
  // Under any cap: the bound sets both the fees and how many times the prompt may be read.
  const planned = format.toolPlan(body, toolPrices, Object.keys(caps).length > 0);
  if (!planned.ok) return { ok: false, refusal: { code: 'invalid_field', message: planned.message } };
  const tools = planned.plan;
  return {
    ok: true,
    checked: {
      run,
      profile,
      body: tools.body,
      bytes: read.bytes,
      model,
      requested,
      price,
      caps,
      tools,
      feesUsd: feesUsd(tools.calls, toolPrices),
    },
    // Content the API fetches for the run is untrusted, as a web tool's output is.
    opens: openedDoor(profile, body, format),
  };
}

/** Both parts of the checks, for a request whose body is already read. */
export function check(
  ctx: ProxyContext,
  run: Run,
  read: ReadBody,
  req: Request,
  format: WireFormat,
): Verdict {
  const admitted = admitRun(ctx, run);
  return admitted.ok ? checkRequest(admitted, run, read, req, format) : admitted;
}

/** The refusal recorded in the audit trail (where it is one to record) and answered in the API's shape. */
export async function refuse(ctx: ProxyContext, run: Run, refusal: Refusal): Promise<Response> {
  switch (refusal.code) {
    case 'run_ended':
      return ended(run);
    case 'no_llm':
      return apiError(403, 'permission_error', 'bulkhead: no LLM API is configured for this gateway.');
    case 'unknown_profile':
      return apiError(403, 'permission_error', 'bulkhead: unknown profile.');
    case 'model_not_allowed':
      await recordDenial(ctx, run, 'model_not_allowed', { model: refusal.model });
      return apiError(
        403,
        'permission_error',
        `bulkhead: model ${JSON.stringify(refusal.model)} is not allowed for this run.`,
      );
    case 'side_door':
      return refuseDoor(ctx, run, refusal.door, refusal.model);
    case 'flow_blocked': {
      const { flow } = refusal;
      await recordDenial(ctx, run, 'flow_blocked', {
        field: flow.field,
        action: flow.action,
        read: flow.read,
      });
      return apiError(403, 'permission_error', sideDoorFlowMessage(flow));
    }
    case 'max_tokens_required':
      return apiError(400, 'invalid_request_error', 'max_tokens is required.');
    case 'invalid_field':
      return apiError(400, 'invalid_request_error', refusal.message);
    case 'unpriced_model':
      await recordDenial(ctx, run, 'unpriced_model', { model: refusal.model });
      return apiError(
        400,
        'invalid_request_error',
        `bulkhead: model ${JSON.stringify(refusal.model)} has no price in llm.prices, and this run has a USD budget.`,
      );
  }
}
