/**
 * Prometheus metrics, derived from audit events so the numbers and the log
 * can never disagree. Labels are exposed tool names and stable codes only:
 * no argument or result ever becomes a label.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../events/event.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly calls = new Counter({
    name: 'bulkhead_tool_calls_total',
    help: 'Tool calls by exposed tool, decision and denial code',
    labelNames: ['tool', 'decision', 'code'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'bulkhead_tool_call_seconds',
    help: 'Time from request to decision, including the upstream',
    labelNames: ['decision'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
    registers: [this.registry],
  });
  private readonly runEnds = new Counter({
    name: 'bulkhead_runs_ended_total',
    help: 'Runs ended, by final state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly sessions = new Gauge({
    name: 'bulkhead_mcp_sessions',
    help: 'Open MCP sessions',
    registers: [this.registry],
  });

  observe(event: AuditEvent): void {
    if (event.kind === 'tools/call') {
      this.calls.inc({ tool: event.tool ?? '', decision: event.decision ?? '', code: event.code ?? '' });
      const ms = event.data.totalMs;
      if (typeof ms === 'number') this.latency.observe({ decision: event.decision ?? '' }, ms / 1000);
    } else if (event.kind === 'run.ended') {
      this.runEnds.inc({ state: event.code ?? '' });
    }
  }
}
