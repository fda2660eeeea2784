/**
 * Audit events: one record per decision or state change. An event is always
 * scrubbed before it is written anywhere (see `EventWriter`).
 */

export const EVENT_KINDS = [
  'tools/list',
  'tools/call',
  'run.created',
  'run.ended',
  'run.tainted',
  'run.data_read',
  'approval.requested',
  'approval.decided',
  'approval.executed',
  'budget.charged',
  'budget.alert',
  'llm.request',
  'egress',
  'workdir',
  'upstream',
  'tool.changed',
  'output.flagged',
  'policy.reloaded',
  'audit.checkpoint',
  'audit.broken',
  'replica.lapsed',
  'resources/list',
  'resources/read',
  'prompts/list',
  'prompts/get',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type DecisionKind = 'allow' | 'deny' | 'hold';

export interface AuditEvent {
  /** Monotonic per store; assigned on append. */
  id: number;
  at: number;
  kind: EventKind;
  runId: string | null;
  /** Exposed tool name, when the event concerns a tool. */
  tool: string | null;
  decision: DecisionKind | null;
  /** Denial or error code. */
  code: string | null;
  /** Who caused it: `run:<id>`, `operator:<name>`, `system`. */
  actor: string | null;
  /** Free-form, already scrubbed detail: arguments, result summary, latency, sizes. */
  data: Record<string, unknown>;
  /** Its link in its writer's hash chain; absent on events written before chaining. */
  chain?: ChainLink;
}

/** Where an event sits in the tamper-evident log: writer, position, and the hashes that bind it. */
export interface ChainLink {
  writer: string;
  seq: number;
  prev: string;
  hash: string;
}

export type NewEvent = Omit<
  AuditEvent,
  'id' | 'chain' | 'at' | 'runId' | 'tool' | 'decision' | 'code' | 'actor'
> &
  Partial<Pick<AuditEvent, 'at' | 'runId' | 'tool' | 'decision' | 'code' | 'actor'>>;

export interface EventFilter {
  runId?: string;
  tool?: string;
  kind?: EventKind;
  decision?: DecisionKind;
  code?: string;
  since?: number;
  until?: number;
  /** Return events with id below this (newest-first pagination). */
  beforeId?: number;
  /** Return events with id above this (tailing). */
  afterId?: number;
  limit?: number;
}
