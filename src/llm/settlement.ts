/**
 * Settling one request's reservation to what it really cost, exactly once
 * however the request ended (a cut stream can end through several paths at
 * the same time): the ledger is charged, the `llm.request` event recorded
 * with how it ended, crossed thresholds alerted, and an exhausted run ended.
 */
import { raiseAlerts } from '../budget/alerts.js';
import { tokenCrossings } from '../budget/thresholds.js';
import type { TokenAmounts, TokenCaps } from '../budget/tokens.js';
import type { NewEvent } from '../events/event.js';
import type { Profile } from '../policy/schema/index.js';
import { faultPoint } from '../replicas/fault-point.js';
import type { Run } from '../runs/run.js';
import { endIfExhausted } from './budget-alerts.js';
import type { ProxyContext } from './context.js';
import { mostCalls, type ToolPlan } from './server-tool-fees.js';
import { chargedInput, cost, type MessageUsage, type Price } from './usage.js';

/** How a request ended, as recorded on its `llm.request` event (`code`). */
export type Outcome =
  | 'ok'
  | 'cut'
  | 'client_gone'
  | 'upstream_error'
  | 'upstream_unavailable'
  | `upstream_${string}`;

export interface SettlementInput {
  run: Run;
  profile: Profile;
  model: string;
  stream: boolean;
  /** max_tokens as asked, and as clamped to the budget. */
  requested: number;
  clamped: number;
  price: Price | undefined;
  caps: TokenCaps;
  reservationId: string;
  /** Called first when settling: the request's signal link is released. */
  release(): void;
  /** The server tool uses reserved; a plan's `owed` ones by any answer that cost tokens. */
  tools?: ToolPlan;
}

/** Whether the API answered with work it bills (its tokens), so a per-request tool use too. */
const answered = (u: MessageUsage) =>
  u.input_tokens + u.output_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens > 0;

export type Settle = (usage: MessageUsage, outcome: Outcome) => Promise<void>;

export function settlement(ctx: ProxyContext, input: SettlementInput): Settle {
  const { deps } = ctx;
  const { run, profile, price, caps } = input;
  const started = performance.now();
  let settled = false;
  return async (reported, outcome) => {
    if (settled) return;
    settled = true;
    input.release();
    const tools = input.tools;
    const usage: MessageUsage =
      tools?.owed && answered(reported)
        ? { ...reported, server_tool_calls: mostCalls(reported.server_tool_calls, tools.owed) }
        : reported;
    const charged: TokenAmounts = {
      input: chargedInput(usage, profile.budgets.tokens),
      output: usage.output_tokens,
      usd: cost(usage, price),
    };
    try {
      const event: NewEvent = {
        kind: 'llm.request',
        runId: run.id,
        decision: 'allow',
        code: outcome === 'ok' ? null : outcome,
        actor: `run:${run.id}`,
        data: {
          model: input.model,
          stream: input.stream,
          usage,
          charged_input: charged.input,
          usd: charged.usd,
          max_tokens: input.requested,
          clamped_to: input.clamped,
          ms: Math.round(performance.now() - started),
        },
      };
      // The charge and its event are one transaction: a crash between them lost the event.
      const settledNow = await deps.events.writeSettled(event, { id: input.reservationId, charge: charged });
      faultPoint('llm-settled');
      if (settledNow) {
        const after = settledNow.usage;
        await raiseAlerts(deps, run, tokenCrossings(after, charged, caps, profile.budgets.alert_at));
        await endIfExhausted(deps, run, caps, price, after);
      } else {
        // Settled at what it reserved by a replica that thought this one dead: recorded after it.
        await deps.events.write({ ...event, data: { ...event.data, lateOutcome: true } });
      }
    } catch (error) {
      // The reservation stays open and keeps counting against the budget: failing closed.
      deps.logger.error({ err: error, runId: run.id }, 'LLM usage could not be settled');
    }
  };
}
