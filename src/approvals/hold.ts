/**
 * What a gated call asks of the approval service (a hold) and what it gets
 * back, and what an approver is told about earlier identical calls.
 */
import type { Denial } from '../errors.js';
import type { Approval } from './approval.js';

/** What an approver is told about an earlier identical call of the same run. */
export interface EarlierCall {
  approvalId: string;
  state: 'executing' | 'executed' | 'outcome_unknown';
}

export function describeEarlier(earlier: readonly EarlierCall[]): string {
  const parts = earlier.map((e) =>
    e.state === 'executing'
      ? `an identical call is executing now under ${e.approvalId}`
      : e.state === 'executed'
        ? `an identical call already ran under ${e.approvalId}: approve only if it should run again`
        : `an identical call under ${e.approvalId} may already have run (outcome unknown)`,
  );
  return `${parts.join('; ')}: check before approving`;
}

export interface HoldRequest {
  runId: string;
  tool: string;
  toolClass: string;
  args: Record<string, unknown>;
  argsHash: string;
  why: string;
  quorum: number;
  approvers: string[];
  timeoutMs: number;
  signal: AbortSignal;
  /**
   * Aborts when the caller's connection closed. The wait ends and the approval stays pending for
   * an identical retry: nobody is waiting, so nothing may run until someone asks again.
   */
  callerGone?: AbortSignal;
  progress?: (progress: number, message?: string) => Promise<void>;
}

export type HoldOutcome =
  | { ok: true; approval: Approval }
  | { ok: false; denial: Denial; approval?: Approval };
