/**
 * The alert sweep against a real SQLite store: what a crash between a charge and its alert
 * left owed is raised once, marked recovered; what was alerted, what was not reached and
 * what belongs to ended runs is left alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventWriter } from '../events/writer.js';
import type { Notice } from '../notify/notifier.js';
import { parsePolicy } from '../policy/load.js';
import { RunService } from '../runs/service.js';
import { createScrubber } from '../scrub/index.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { type SweepDeps, sweepAlerts } from './alert-sweep.js';

const policy = parsePolicy(`version: 1
store: { sqlite: ':memory:' }
upstreams: {}
profiles:
  agent:
    tools: []
    budgets: { tool_calls: 10, tokens: { total: 1000 }, alert_at: [0.5, 0.8, 1] }
  quiet:
    tools: []
    budgets: { tool_calls: 10, alert_at: [] }
`);

const opened: SqliteStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function setup(): SweepDeps & { store: SqliteStore; sent: Notice[]; runService: RunService } {
  const store = openSqliteStore(':memory:');
  opened.push(store);
  const scrubber = createScrubber();
  const events = new EventWriter(store.events, scrubber);
  const runs = new RunService({ store, policy, events, scrubber, now: Date.now });
  const sent: Notice[] = [];
  return {
    store,
    policy,
    events,
    runs,
    runService: runs,
    sent,
    notifier: { send: (n) => sent.push(n), drain: async () => undefined },
  };
}

async function charged(deps: ReturnType<typeof setup>, profile: string, calls: number): Promise<string> {
  const { run } = await deps.runService.create(profile);
  for (let i = 0; i < calls; i++)
    await deps.store.calls.reserve({ runId: run.id, tool: 't', now: Date.now() });
  return run.id;
}

async function alertsOf(deps: ReturnType<typeof setup>, runId: string) {
  const events = await deps.store.events.list({ runId, kind: 'budget.alert' });
  return events.map((e) => [e.code, e.data.fraction, e.data.recovered]).sort();
}

describe('the alert sweep after a crash', () => {
  it('raises each threshold a run reached without its alert, marked recovered', async () => {
    const deps = setup();
    const runId = await charged(deps, 'agent', 8);
    expect(await sweepAlerts(deps)).toBe(2);
    expect(await alertsOf(deps, runId)).toEqual([
      ['tool_calls', 0.5, true],
      ['tool_calls', 0.8, true],
    ]);
    expect(deps.sent.map((n) => n.title)).toContain(`Run ${runId} used 80% of its tool-call budget (8/10)`);
  });

  it('raises nothing a second time, and nothing the live path already raised', async () => {
    const deps = setup();
    const runId = await charged(deps, 'agent', 6);
    await deps.events.writeAlert(
      { kind: 'budget.alert', runId, code: 'tool_calls', actor: 'system', data: { fraction: 0.5 } },
      { runId, dimension: 'tool_calls', fraction: 0.5 },
    );
    expect(await sweepAlerts(deps)).toBe(0);
    expect(await sweepAlerts(deps)).toBe(0);
    expect(await alertsOf(deps, runId)).toEqual([['tool_calls', 0.5, undefined]]);
    expect(deps.sent).toEqual([]);
  });

  it('leaves ended runs and profiles without alert thresholds alone', async () => {
    const deps = setup();
    const ended = await charged(deps, 'agent', 9);
    await deps.runService.end(ended, 'killed', 'by a test');
    const quiet = await charged(deps, 'quiet', 10);
    expect(await sweepAlerts(deps)).toBe(0);
    expect(await alertsOf(deps, ended)).toEqual([]);
    expect(await alertsOf(deps, quiet)).toEqual([]);
  });

  it("raises token thresholds and ends a run whose token budget a crash's charge used up", async () => {
    const deps = setup();
    const { run } = await deps.runService.create('agent');
    const r = await deps.store.tokens.reserve(
      run.id,
      { input: 600, output: 400, usd: 0 },
      { total: 1000 },
      1,
    );
    if (!r.ok) throw new Error('the reservation was refused');
    await deps.store.tokens.settle(r.id, { input: 600, output: 400, usd: 0 });
    expect(await sweepAlerts(deps)).toBe(3);
    expect(await alertsOf(deps, run.id)).toEqual([
      ['total_tokens', 0.5, true],
      ['total_tokens', 0.8, true],
      ['total_tokens', 1, true],
    ]);
    expect((await deps.store.runs.get(run.id))?.state).toBe('exhausted');
  });
});
