/**
 * LLM requests of a single SQLite gateway killed with SIGKILL. One the API
 * answered, killed the moment its reservation was settled at what it cost
 * (fault point `llm-settled`): after a restart on the same file it has its
 * `llm.request` event (the API saw and billed it) and the run is charged for
 * it once. One in flight, whose reservation holds most of the run's USD
 * budget: the restart settles it at what it reserved, raises the budget
 * alerts that charge crossed and, when nothing is left, ends the run as
 * `exhausted`, as a live request's settlement would.
 */
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/events/verify.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { tempDir } from '../helpers/harness.js';
import { REAL_KEY } from '../helpers/llm-harness.js';
import { createRun, killAll, llmSection, llmStreamInFlight, spawnGateway } from './processes.js';

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await killAll();
  await fake?.close();
});

function policy(llmUrl: string, budgets = '{ tokens: { total: 100000 } }'): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams: {}
${llmSection(llmUrl)}profiles:
  agent:
    tools: []
    budgets: ${budgets}
`;
}

const ENV = { ANTHROPIC_API_KEY: REAL_KEY };

const ask = (url: string, token: string) =>
  new Anthropic({ apiKey: token, baseURL: url, maxRetries: 0 }).messages
    .create({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
    .then(
      () => 'answered',
      () => 'cut',
    );

/** A run of `budgets` whose streamed request (`maxTokens`) is cut by kill -9; the file as the next start left it. */
async function cutThenRestarted(budgets: string, maxTokens = 100): Promise<{ runId: string; store: Store }> {
  const llm = fake;
  const dir = tempDir('bulkhead-llm-settle-');
  const yaml = policy(llm.url, budgets);
  const first = await spawnGateway(dir, yaml, ENV).ready;
  const { run_id, token } = await createRun(first.url, first.adminToken, 'agent');
  llm.delayMs = 2_000;
  const stream = await llmStreamInFlight(first.url, token, maxTokens);
  first.child.kill('SIGKILL');
  await first.exited;
  await stream.finished;
  llm.delayMs = 5;
  return { runId: run_id, store: await restartedFile(dir, yaml) };
}

/** Starts a gateway on `dir`'s file (its start reconciles what the dead one left), stops it, opens the file. */
async function restartedFile(dir: string, yaml: string): Promise<Store> {
  const restarted = await spawnGateway(dir, yaml, ENV).ready;
  restarted.child.kill('SIGTERM');
  await restarted.exited;
  return openSqliteStore(join(dir, 'bulkhead.db'));
}

describe('a single SQLite gateway killed with an LLM request settling or in flight', () => {
  it('has the request event after restart, and the run charged for it once', async () => {
    const llm = fake;
    const dir = tempDir('bulkhead-llm-settle-');
    const yaml = policy(llm.url);
    const armed = await spawnGateway(dir, yaml, { ...ENV, BULKHEAD_TEST_FAULT_POINT: 'llm-settled' }).ready;
    const { run_id, token } = await createRun(armed.url, armed.adminToken, 'agent');
    await ask(armed.url, token);
    expect(await armed.exited).toBe('SIGKILL');

    const store = await restartedFile(dir, yaml);
    try {
      const events = await store.events.list({ runId: run_id, kind: 'llm.request', limit: 10 });
      expect(events).toHaveLength(1);
      const usage = await store.tokens.usage(run_id);
      expect(usage.requests).toBe(1);
      // Charged what the API reported, once.
      expect(events[0]?.data.charged_input).toBe(usage.input);
      expect(await store.tokens.orphans(Date.now())).toEqual([]);
      expect((await verifyLog(store.events)).findings).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('alerts the thresholds a reservation settled after the crash crossed', async () => {
    // 100 output tokens at $15 a million, and the input, reserved: more than 80% of $0.002.
    const { runId, store } = await cutThenRestarted('{ usd: 0.002 }');
    try {
      expect((await store.tokens.usage(runId)).usd).toBeGreaterThanOrEqual(0.8 * 0.002);
      const alerts = await store.events.list({ runId, kind: 'budget.alert', limit: 10 });
      expect(alerts.map((e) => [e.code, e.data.fraction])).toContainEqual(['usd', 0.8]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('ends the run as exhausted when a reservation settled after the crash used up its budget', async () => {
    // max_tokens far above what $0.002 pays: the reservation is clamped to the whole budget.
    const { runId, store } = await cutThenRestarted('{ usd: 0.002 }', 4096);
    try {
      expect((await store.tokens.usage(runId)).usd).toBeGreaterThan(0.0019);
      expect((await store.runs.get(runId))?.state).toBe('exhausted');
    } finally {
      await store.close();
    }
  }, 120_000);
});
