/**
 * What differs between the proxy's three front doors, the Anthropic Messages
 * API (`/v1/messages`), OpenAI Chat Completions (`/v1/chat/completions`) and
 * the OpenAI Responses API (`/v1/responses`):
 * where the request goes, how max_tokens is read and clamped, which fields are
 * side doors, how usage is reported and how a stream is scrubbed. Everything
 * else (authentication, budgets, audit) is shared (exchange.ts).
 */
import type { ProfileLlm } from '../policy/schema/llm.js';
import type { Scrubber } from '../scrub/index.js';
import { anthropicDialect } from './anthropic-sse.js';
import {
  OpenAiUsageTracker,
  openaiDialect,
  openaiInvalid,
  openaiRequested,
  openaiSideDoor,
  openaiStreamError,
  openaiUsage,
  openaiWithMaxTokens,
} from './openai.js';
import {
  responsesRequested,
  responsesSideDoor,
  responsesUsage,
  responsesWithMaxTokens,
} from './responses.js';
import { ResponsesUsageTracker, responsesDialect, responsesStreamError } from './responses-sse.js';
import type { SseDialect } from './scrubbed-sse.js';
import {
  chatToolPlan,
  messagesToolPlan,
  responsesCalls,
  responsesToolPlan,
  type ToolCalls,
  type ToolPlanResult,
} from './server-tool-fees.js';
import { findSideDoor, type SideDoor } from './side-doors.js';
import { EMPTY_USAGE, type MessageUsage, mergeUsage, SseUsageTracker, sseError } from './usage.js';

export interface WireFormat {
  /** The upstream path, under the configured base URL. */
  path: string;
  /** Whether the upstream wants the key as a bearer too (OpenAI) besides `x-api-key`. */
  bearer: boolean;
  /** Whether an exact input count can be asked of the API (`count_tokens`, Anthropic only). */
  countable: boolean;
  /** max_tokens as the agent asked (0: missing, refused). */
  requested(body: Record<string, unknown>): number;
  withMaxTokens(body: Record<string, unknown>, max: number): Record<string, unknown>;
  sideDoor(body: Record<string, unknown>, beta: string | null, allowed: ProfileLlm): SideDoor | undefined;
  /** Why a field the budget reads cannot be read the way the API would read it (refused, unsent). */
  invalid?(body: Record<string, unknown>): string | undefined;
  /** `answer`: the whole answer `reported` is the usage of (where server tool uses are). */
  usage(reported: unknown, answer?: unknown): MessageUsage;
  /** The server tool uses the request may pay for at most, under a USD cap or not (`capped`). */
  toolPlan(body: Record<string, unknown>, prices: Readonly<ToolCalls>, capped: boolean): ToolPlanResult;
  /** For the request `body` (whether it can generate output that is never streamed). */
  tracker(body: Record<string, unknown>): UsageTracker;
  dialect(scrubber: Scrubber): SseDialect;
  streamError(type: string, message: string): Uint8Array;
}

/** Usage read from a stream as it passes, and what to charge when it ends (or is cut). */
export interface UsageTracker {
  observe(data: unknown): void;
  /** `reservedInput`: what the input was reserved at, charged when the stream never reported it. */
  charge(maxTokens: number, reservedInput: number, reservedCalls?: ToolCalls): MessageUsage;
  readonly complete: boolean;
  readonly errorType: string | undefined;
}

/** Whether a Messages request turns extended thinking on (`enabled`, `adaptive`, ...). */
function thinks(body: Record<string, unknown>): boolean {
  const thinking = body.thinking;
  if (thinking === undefined || thinking === null) return false;
  return !(typeof thinking === 'object' && (thinking as { type?: unknown }).type === 'disabled');
}

export const ANTHROPIC: WireFormat = {
  path: '/v1/messages',
  bearer: false,
  countable: true,
  requested: (body) =>
    typeof body.max_tokens === 'number' && body.max_tokens > 0 ? Math.floor(body.max_tokens) : 0,
  withMaxTokens: (body, max) => ({ ...body, max_tokens: max }),
  sideDoor: findSideDoor,
  usage: (reported) => mergeUsage(EMPTY_USAGE, reported),
  toolPlan: messagesToolPlan,
  // Claude 4 models stream a summary of their thinking but bill all of it.
  tracker: (body) => new SseUsageTracker(thinks(body)),
  dialect: anthropicDialect,
  streamError: sseError,
};

export const OPENAI: WireFormat = {
  path: '/v1/chat/completions',
  bearer: true,
  countable: false,
  requested: openaiRequested,
  withMaxTokens: openaiWithMaxTokens,
  sideDoor: openaiSideDoor,
  invalid: openaiInvalid,
  usage: openaiUsage,
  toolPlan: chatToolPlan,
  // Any model may be a reasoning one, whose reasoning Chat Completions never streams.
  tracker: () => new OpenAiUsageTracker(true),
  dialect: openaiDialect,
  streamError: openaiStreamError,
};

export const RESPONSES: WireFormat = {
  path: '/v1/responses',
  bearer: true,
  countable: false,
  requested: responsesRequested,
  withMaxTokens: responsesWithMaxTokens,
  sideDoor: responsesSideDoor,
  usage: (reported, answer) => ({ ...responsesUsage(reported), server_tool_calls: responsesCalls(answer) }),
  toolPlan: responsesToolPlan,
  // Reasoning streams as a summary at most, encrypted or not at all.
  tracker: () => new ResponsesUsageTracker(true),
  dialect: responsesDialect,
  streamError: responsesStreamError,
};
