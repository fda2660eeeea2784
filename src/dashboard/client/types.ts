/**
 * What the dashboard reads from the operator API. Runs and events are the
 * server's own types (type-only imports, erased from the bundle), so the page
 * and the API cannot drift apart; the rest mirrors the JSON the routes return.
 */
import type { AuditEvent } from '../../events/event.js';
import type { RunView } from '../../gateway/api-run-view.js';

export type { AuditEvent, RunView };

/** One budget dimension: the bar needs nothing else. A null cap means unlimited. */
export interface BudgetUsage {
  dimension: string;
  used: number;
  cap: number | null;
}

export interface Vote {
  operator: string;
  decision: string;
  reason: string | null;
  at: number;
}

export interface ApprovalView {
  id: string;
  run_id: string;
  tool: string;
  class: string;
  arguments: Record<string, unknown>;
  args_hash: string;
  state: string;
  why?: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  quorum: number;
  approvers: string[];
  votes: Vote[];
  reason: string | null;
  edited_arguments: Record<string, unknown> | null;
  /** Hash of what runs if approved; an approval sends it back and is refused if it changed. */
  run_hash: string;
  /** Callers waiting in this gateway (0: the agent went away). */
  waiting?: number;
  identical?: { id: string; state: string; decided_at: number | null }[];
  /** The tool's rule lets an approver approve edited arguments. */
  editable: boolean;
}

export interface CallBucket {
  at: number;
  allow: number;
  deny: number;
  hold: number;
}

export interface CallStats {
  bucket_ms: number;
  buckets: CallBucket[];
}

export interface ToolView {
  name: string;
  upstream: string;
  original: string;
  class: string;
  gated: boolean;
  description?: string;
  /** Present once the tool risk audit reports through the API. */
  risk?: string;
}

export interface ProfileTools {
  profile: string;
  tools: ToolView[];
}

export interface EventPage {
  events: AuditEvent[];
  total: number;
  next_before: number | null;
}

export interface SessionInfo {
  operator: { name: string; roles: string[] };
  csrf: string;
  expires_at: number;
}
