/**
 * The shape every pipeline stage shares. A stage reads the call, may enrich it
 * (the validated arguments, the upstream result), and either lets it continue
 * or ends it with a `Denial`. The order of stages is the security argument and
 * lives in one place: `pipeline.ts`.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Denial } from '../errors.js';
import type { CatalogTool } from '../gateway/catalog.js';
import type { Profile } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { FlowEvidence } from './flow.js';

export interface ToolCall {
  readonly run: Run;
  readonly profile: Profile;
  readonly profileName: string;
  /** The name the agent asked for, exactly as sent. */
  readonly name: string;
  /** The arguments exactly as sent: untrusted, possibly hostile. */
  readonly rawArgs: unknown;
  /**
   * Pointer of a `__proto__` key the raw JSON-RPC message held in the arguments
   * but the SDK's parsing removed before `rawArgs` (set by the MCP endpoint).
   */
  readonly droppedKey?: string;
  /** Ends when the client cancels, disconnects, or the run is killed. */
  readonly signal: AbortSignal;
  /**
   * Aborts when the caller's connection closed before its answer (in any answer mode). A held
   * call stops waiting then; the call itself is not cancelled by it once it runs.
   */
  readonly callerGone?: AbortSignal;
  /** Tells the HTTP edge the call is held, so a plain-JSON answer becomes a stream at once. */
  readonly onHold?: () => void;
  /** Sends an MCP progress notification when the client asked for progress (under its own token). */
  readonly progress?: (progress: number, message?: string, total?: number) => Promise<void>;
  readonly startedAt: number;

  // Filled in by the stages, in order.
  /** scope: the catalog entry the name resolved to. */
  tool?: CatalogTool;
  /** validate: the arguments after the tightened schema accepted them. */
  args?: Record<string, unknown>;
  /** flow: why this call needs a human even if its tool rule does not gate it. */
  approvalReason?: string;
  /** flow: the rule that applied and its evidence (sources read, values recognised), for the audit event. */
  flow?: FlowEvidence;
  /** gate: the approval this call runs under, if it was held. */
  approvalId?: string;
  /** gate: this call claimed that approval (`executing`): it, not a rival, settles it. */
  approvalClaimed?: boolean;
  /** execute: the durable intent recorded before the upstream saw the call (closed by record). */
  intentId?: string;
  /** execute: what the upstream returned. */
  result?: CallToolResult;
  /** execute: time spent in the upstream. */
  upstreamMs?: number;
  /** execute: the progress text the agent was shown during the call, read joined with its result. */
  progressShown?: string;
  /** inspect: flags raised on the output (truncated, injection_suspected, ...). */
  flags: string[];
}

export type StageResult = { readonly ok: true } | { readonly ok: false; readonly denial: Denial };

/**
 * A stage that has nothing to wait for answers at once: most calls pass most stages without
 * touching the store, and an async function per stage and call was an object, a promise and a
 * suspension each (about 0.3 KB of garbage per stage and call). Callers await only a promise.
 */
export type Stage = (call: ToolCall) => StageResult | Promise<StageResult>;

export const CONTINUE: StageResult = Object.freeze({ ok: true });

export function deny(denial: Denial): StageResult {
  return { ok: false, denial };
}
