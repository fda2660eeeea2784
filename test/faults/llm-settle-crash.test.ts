/**
 * LLM requests of a single SQLite gateway killed with SIGKILL. One the API
 * answered, killed the moment its reservation was settled at what it cost
 * (fault point `llm-settled`): after a restart on the same file it has its
 * `llm.request` event (the API saw and billed it) and the run is charged for
 * it once. One in flight, whose reservation holds most of the run's USD
 * budget: the restart settles it at what it reserved and raises the budget
 * alerts that charge crossed, as a live request's settlement would.
 */
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/events/verify.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { tempDir } from '../helpers/harness.js';
import { REAL_KEY } from '../helpers/llm-harness.js';
import { createRun, killAll, llmStreamInFlight, spawnGateway } from './processes.js';

let fake: FakeAnthropic | undefined;
afterAll(async () => {
  await killAll();
  await fake?.close();
});

function policy(llmUrl: string, budgets = '{ tokens: { total: 100000 } }'): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams: {}
llm:
  base_url: ${llmUrl}
  api_key: { secret: ANTHROPIC_API_KEY }
  prices:
    claude-test: { input: 3, output: 15 }
profiles:
  agent:
    tools: []
    budgets: ${budgets}
`;
}

const ask = (url: string, token: string) =>
  new Anthropic({ apiKey: token, baseURL: url, maxRetries: 0 }).messages
    .create({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
    .then(
      () => 'answered',
      () => 'cut',
    );

describe('a single SQLite gateway killed with an LLM request settling or in flight', () => {
  it('has the request event after restart, and the run charged for it once', async () => {
    fake = await startFakeAnthropic();
    const dir = tempDir('bulkhead-llm-settle-');
    const env = { ANTHROPIC_API_KEY: REAL_KEY };
    const yaml = policy(fake.url);
    const armed = await spawnGateway(dir, yaml, { ...env, BULKHEAD_TEST_FAULT_POINT: 'llm-settled' }).ready;
    const { run_id, token } = await createRun(armed.url, armed.adminToken, 'agent');
    await ask(armed.url, token);
    expect(await armed.exited).toBe('SIGKILL');

    const restarted = await spawnGateway(dir, yaml, env).ready;
    restarted.child.kill('SIGTERM');
    await restarted.exited;
    const store = openSqliteStore(join(dir, 'bulkhead.db'));
    try {
      const events = await store.events.list({ runId: run_id, kind: 'llm.request', limit: 10 });
      expect(events).toHaveLength(1);
      const usage = await store.tokens.usage(run_id);
      expect(usage.requests).toBe(1);
      // Charged what the API reported (25 input, 10 cache reads at 0.1, two output tokens per word), once.
      expect(events[0]?.data.charged_input).toBe(usage.input);
      expect(await store.tokens.orphans(Date.now())).toEqual([]);
      expect((await verifyLog(store.events)).findings).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('alerts the thresholds a reservation settled after the crash crossed', async () => {
    fake ??= await startFakeAnthropic();
    const dir = tempDir('bulkhead-llm-settle-');
    const env = { ANTHROPIC_API_KEY: REAL_KEY };
    // 100 output tokens at $15 a million, and the input, reserved: more than 80% of $0.002.
    const yaml = policy(fake.url, '{ usd: 0.002 }');
    const first = await spawnGateway(dir, yaml, env).ready;
    const { run_id, token } = await createRun(first.url, first.adminToken, 'agent');
    fake.delayMs = 2_000;
    const stream = await llmStreamInFlight(first.url, token);
    first.child.kill('SIGKILL');
    await first.exited;
    await stream.finished;
    fake.delayMs = 5;

    const restarted = await spawnGateway(dir, yaml, env).ready;
    restarted.child.kill('SIGTERM');
    await restarted.exited;
    const store = openSqliteStore(join(dir, 'bulkhead.db'));
    try {
      const usage = await store.tokens.usage(run_id);
      expect(usage.usd).toBeGreaterThanOrEqual(0.8 * 0.002);
      const alerts = await store.events.list({ runId: run_id, kind: 'budget.alert', limit: 10 });
      expect(alerts.map((e) => [e.code, e.data.fraction])).toContainEqual(['usd', 0.8]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
