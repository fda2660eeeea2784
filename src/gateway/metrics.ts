/**
 * Prometheus metrics that answer operators' questions (docs/metrics.md).
 * Most are derived from audit events, so the numbers and the log cannot
 * disagree; stage latency comes from the pipeline hook, store latency from a
 * wrapper around the store, and the gauges (upstreams, pending approvals) are
 * read when Prometheus scrapes.
 *
 * Cardinality is bounded by the policy: labels are exposed tool names,
 * profiles, upstreams, stage names, stable codes, scrub rule ids and models
 * the policy allows. Never a run id, an argument, a result or a name an agent
 * typed (an unknown tool is counted under tool="" with its denial code).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../events/event.js';
import type { PipelineHook } from '../pipeline/pipeline.js';
import { redactionCounts } from '../scrub/markers.js';
import { histogramObserver } from '../telemetry/histogram-observer.js';

type StageResult = 'continue' | 'deny' | 'error';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30];
/** How many runs' profiles are remembered to label per-profile usage. */
const RUN_PROFILES_KEPT = 10_000;

export interface MetricsSources {
  upstreams: () => readonly { name: string; state: string; restarts: number }[];
  /** Creation times (ms) of the pending approvals. */
  pendingApprovals: () => Promise<readonly number[]>;
  sessions: () => number;
  /** Whether a name is an exposed tool, so a made-up name never becomes a label. */
  isTool: (name: string) => boolean;
  now: () => number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly runProfiles = new Map<string, string>();
  private readonly approvalsRequested = new Map<string, number>();
  private readonly restartsSeen = new Map<string, number>();
  private sources: MetricsSources | undefined;

  private readonly calls = this.counter(
    'bulkhead_tool_calls_total',
    'Tool calls by exposed tool, decision and denial code',
    ['tool', 'decision', 'code'],
  );
  private readonly profileCalls = this.counter(
    'bulkhead_profile_tool_calls_total',
    'Tool calls by profile and decision (budget usage)',
    ['profile', 'decision'],
  );
  private readonly latency = new Histogram({
    name: 'bulkhead_tool_call_seconds',
    help: 'Time from request to decision, including the upstream',
    labelNames: ['decision'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly stageLatency = new Histogram({
    name: 'bulkhead_pipeline_stage_seconds',
    help: 'Time spent in each pipeline stage, by result (continue, deny, error)',
    labelNames: ['stage', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly runsCreated = this.counter('bulkhead_runs_created_total', 'Runs created, by profile', [
    'profile',
  ]);
  private readonly runEnds = this.counter('bulkhead_runs_ended_total', 'Runs ended, by final state', [
    'state',
  ]);
  private readonly upstreamUp = new Gauge({
    name: 'bulkhead_upstream_up',
    help: '1 when the upstream is ready, 0 otherwise',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  private readonly upstreamRestarts = this.counter(
    'bulkhead_upstream_restarts_total',
    'Restarts of an upstream after it stopped',
    ['upstream'],
  );
  private readonly pending = new Gauge({
    name: 'bulkhead_approvals_pending',
    help: 'Approvals waiting for a human',
    registers: [this.registry],
  });
  private readonly oldestPending = new Gauge({
    name: 'bulkhead_approvals_oldest_pending_seconds',
    help: 'Age of the oldest pending approval (0 when none)',
    registers: [this.registry],
  });
  private readonly approvalLatency = new Histogram({
    name: 'bulkhead_approval_decision_seconds',
    help: 'Time from an approval request to its final state, by state',
    labelNames: ['state'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });
  private readonly llmRequests = this.counter(
    'bulkhead_llm_requests_total',
    'LLM proxy requests by profile, decision and code',
    ['profile', 'decision', 'code'],
  );
  private readonly llmTokens = this.counter(
    'bulkhead_llm_tokens_total',
    'LLM tokens charged, by profile, model and direction (input, output)',
    ['profile', 'model', 'direction'],
  );
  private readonly llmSpend = this.counter(
    'bulkhead_llm_spend_usd_total',
    'LLM spend in USD, by profile and model',
    ['profile', 'model'],
  );
  private readonly budgetAlerts = this.counter(
    'bulkhead_budget_alerts_total',
    'Budget threshold crossings, by dimension',
    ['dimension'],
  );
  private readonly egressRefusals = this.counter(
    'bulkhead_egress_refusals_total',
    'Connections the egress proxy refused',
    ['code'],
  );
  private readonly scrubFindings = this.counter(
    'bulkhead_scrub_findings_total',
    'Redactions in tool results returned to agents, by scrub rule',
    ['rule'],
  );
  private readonly outputFlags = this.counter(
    'bulkhead_output_flags_total',
    'Inspection flags raised on tool output',
    ['flag'],
  );
  private readonly storeLatency = new Histogram({
    name: 'bulkhead_store_operation_seconds',
    help: 'Store operation latency, by operation (area.method)',
    labelNames: ['operation', 'result'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2],
    registers: [this.registry],
  });
  private readonly reloads = this.counter(
    'bulkhead_policy_reloads_total',
    'Policy reloads by result (ok, refused)',
    ['result'],
  );
  readonly sessions = new Gauge({
    name: 'bulkhead_mcp_sessions',
    help: 'Open MCP sessions',
    registers: [this.registry],
  });

  /** Scrape-time sources; without them only the event-derived series are exported. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** Reads the gauges; called before every scrape. */
  async collect(): Promise<void> {
    const s = this.sources;
    if (!s) return;
    this.sessions.set(s.sessions());
    this.upstreamUp.reset();
    for (const up of s.upstreams()) {
      this.upstreamUp.set({ upstream: up.name }, up.state === 'ready' ? 1 : 0);
      const seen = this.restartsSeen.get(up.name) ?? 0;
      if (up.restarts > seen) this.upstreamRestarts.inc({ upstream: up.name }, up.restarts - seen);
      this.restartsSeen.set(up.name, up.restarts);
    }
    const created = await s.pendingApprovals();
    this.pending.set(created.length);
    this.oldestPending.set(created.length ? Math.max(0, (s.now() - Math.min(...created)) / 1000) : 0);
  }

  /**
   * Observers of the per-call histograms by label set, made once each (histogram-observer.ts):
   * stage and store operation names are fixed sets, decisions too.
   */
  private readonly stageObservers = new Map<string, Record<StageResult, (seconds: number) => void>>();
  private readonly storeObservers = new Map<string, Record<'ok' | 'error', (seconds: number) => void>>();
  private readonly latencyObservers = new Map<string, (seconds: number) => void>();

  /** Per-stage latency, measured where the stages are composed (observed, not wrapped). */
  readonly hook: PipelineHook = {
    stageDone: (stage, result, ms) => {
      let observers = this.stageObservers.get(stage);
      if (!observers) {
        const of = (r: StageResult) => histogramObserver(this.stageLatency, { stage, result: r });
        observers = { continue: of('continue'), deny: of('deny'), error: of('error') };
        this.stageObservers.set(stage, observers);
      }
      observers[result === undefined ? 'error' : result.ok ? 'continue' : 'deny'](ms / 1000);
    },
  };

  storeOperation(operation: string, ok: boolean, seconds: number): void {
    let observers = this.storeObservers.get(operation);
    if (!observers) {
      const of = (result: 'ok' | 'error') => histogramObserver(this.storeLatency, { operation, result });
      observers = { ok: of('ok'), error: of('error') };
      this.storeObservers.set(operation, observers);
    }
    observers[ok ? 'ok' : 'error'](seconds);
  }

  /** Counts `[REDACTED:<rule>]` markers a scrub added to a tool result (rule ids are a fixed set). */
  scrubbed(before: unknown, after: unknown): void {
    this.redactions(redactionCounts(before, after));
  }

  /** Redactions by rule, counted where the scrub ran (an inspection worker counts its own). */
  redactions(counts: Readonly<Record<string, number>>): void {
    for (const [rule, n] of Object.entries(counts)) if (n > 0) this.scrubFindings.inc({ rule }, n);
  }

  observe(event: AuditEvent): void {
    const profile = () => (event.runId ? (this.runProfiles.get(event.runId) ?? 'unknown') : 'none');
    switch (event.kind) {
      case 'tools/call': {
        const tool = event.tool && this.sources?.isTool(event.tool) !== false ? event.tool : '';
        this.calls.inc({ tool, decision: event.decision ?? '', code: event.code ?? '' });
        this.profileCalls.inc({ profile: profile(), decision: event.decision ?? '' });
        const ms = event.data.totalMs;
        if (typeof ms === 'number') {
          const decision = event.decision ?? '';
          let observe = this.latencyObservers.get(decision);
          if (!observe) {
            observe = histogramObserver(this.latency, { decision });
            this.latencyObservers.set(decision, observe);
          }
          observe(ms / 1000);
        }
        return;
      }
      case 'run.created': {
        const name = typeof event.data.profile === 'string' ? event.data.profile : 'unknown';
        if (event.runId) remember(this.runProfiles, event.runId, name, RUN_PROFILES_KEPT);
        this.runsCreated.inc({ profile: name });
        return;
      }
      case 'run.ended':
        this.runEnds.inc({ state: event.code ?? '' });
        return;
      case 'approval.requested':
        if (typeof event.data.approvalId === 'string')
          remember(this.approvalsRequested, event.data.approvalId, event.at, RUN_PROFILES_KEPT);
        return;
      case 'approval.decided': {
        const id = event.data.approvalId ?? event.data.approval_id;
        const requested = typeof id === 'string' ? this.approvalsRequested.get(id) : undefined;
        if (requested === undefined || !event.code || event.code === 'vote') return;
        this.approvalsRequested.delete(id as string);
        this.approvalLatency.observe({ state: event.code }, Math.max(0, event.at - requested) / 1000);
        return;
      }
      case 'llm.request':
        this.llm(event, profile());
        return;
      case 'budget.alert':
        this.budgetAlerts.inc({ dimension: String(event.data.dimension ?? 'unknown') });
        return;
      case 'egress':
        if (event.decision === 'deny') this.egressRefusals.inc({ code: event.code ?? 'egress_denied' });
        return;
      case 'output.flagged':
        for (const flag of Array.isArray(event.data.flags) ? event.data.flags : [])
          if (typeof flag === 'string') this.outputFlags.inc({ flag });
        return;
      case 'policy.reloaded':
        this.reloads.inc({ result: event.decision === 'allow' ? 'ok' : 'refused' });
        return;
      default:
        return;
    }
  }

  private llm(event: AuditEvent, profile: string): void {
    this.llmRequests.inc({ profile, decision: event.decision ?? '', code: event.code ?? '' });
    // Only answered requests carry a model the policy allowed; a refused one may name anything.
    const model =
      event.decision === 'allow' && typeof event.data.model === 'string' ? event.data.model : undefined;
    if (!model) return;
    const usage = event.data.usage as { output_tokens?: unknown } | undefined;
    const input = event.data.charged_input;
    if (typeof input === 'number') this.llmTokens.inc({ profile, model, direction: 'input' }, input);
    if (typeof usage?.output_tokens === 'number')
      this.llmTokens.inc({ profile, model, direction: 'output' }, usage.output_tokens);
    if (typeof event.data.usd === 'number') this.llmSpend.inc({ profile, model }, event.data.usd);
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

/** A bounded map: the oldest entry goes when it is full. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (map.size >= max) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}
