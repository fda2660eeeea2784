/**
 * The `ToolCall` a `tools/call` becomes (tool-handlers.ts), as one class so that every call has
 * one hidden class: all keys set at creation in one order, the ones a call does not carry and
 * the ones the stages fill in later undefined until then. Every stage reads this object; left-out
 * optional keys gave it a shape per combination, and a getter defined on each object (for
 * `callerGone`) put every call into V8's dictionary mode, so each read took the slow path.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FlowEvidence } from '../pipeline/flow.js';
import type { ToolCall } from '../pipeline/stage.js';
import type { Profile } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { CatalogTool } from './catalog.js';
import type { HeldAnswer } from './held-answer.js';

export interface ToolCallInit {
  run: Run;
  profile: Profile;
  name: string;
  rawArgs: unknown;
  droppedKey: string | undefined;
  signal: AbortSignal;
  startedAt: number;
  /** The HTTP request's answer, when the call came over HTTP (mcp-endpoint.ts). */
  held: HeldAnswer | undefined;
  progress: ToolCall['progress'];
}

export class HandledToolCall implements ToolCall {
  readonly run: Run;
  readonly profile: Profile;
  readonly profileName: string;
  readonly name: string;
  readonly rawArgs: unknown;
  readonly droppedKey: string | undefined;
  readonly signal: AbortSignal;
  readonly onHold: (() => void) | undefined;
  readonly progress: ToolCall['progress'];
  readonly startedAt: number;
  tool: CatalogTool | undefined = undefined;
  args: Record<string, unknown> | undefined = undefined;
  approvalReason: string | undefined = undefined;
  flow: FlowEvidence | undefined = undefined;
  approvalId: string | undefined = undefined;
  approvalClaimed: boolean | undefined = undefined;
  intentId: string | undefined = undefined;
  result: CallToolResult | undefined = undefined;
  upstreamMs: number | undefined = undefined;
  progressShown: string | undefined = undefined;
  flags: string[] = [];
  readonly #held: HeldAnswer | undefined;

  constructor(init: ToolCallInit) {
    this.run = init.run;
    this.profile = init.profile;
    this.profileName = init.run.profile;
    this.name = init.name;
    this.rawArgs = init.rawArgs;
    this.droppedKey = init.droppedKey;
    this.signal = init.signal;
    const held = init.held;
    this.onHold = held ? () => held.hold() : undefined;
    this.progress = init.progress;
    this.startedAt = init.startedAt;
    this.#held = held;
  }

  /**
   * Read only if the call is held: a getter, not a copy, so the HTTP request's signal is not
   * made for every call (held-answer.ts).
   */
  get callerGone(): AbortSignal | undefined {
    return this.#held?.gone;
  }
}
