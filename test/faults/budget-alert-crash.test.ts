/**
 * Budget alerts across kill -9. A charge and its alert are two writes: a gateway killed between
 * them (fault point `budget-crossed`: a tool call's reservation committed past a threshold, its
 * `budget.alert` not yet written; `llm-settled`: an LLM request settled past one) left the run
 * past the threshold with no alert, and no later charge would raise it. The next replica to
 * retire the dead one (here: the restart on the same store) sweeps the active runs and raises
 * what each is owed, once: another sweep, or the live path crossing the next threshold, never
 * alerts a threshold twice. On SQLite and on PostgreSQL.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { connectAgent, tempDir } from '../helpers/harness.js';
import { REAL_KEY } from '../helpers/llm-harness.js';
import {
  api,
  createRun,
  faultStores,
  type GatewayProcess,
  killAll,
  llmSection,
  ORDERS_ENV,
  ordersPolicy,
  spawnGateway,
} from './processes.js';

const STORES = faultStores();
let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterEach(killAll);
afterAll(async () => {
  await STORES.stop();
  await fake?.close();
});

const CAP = 5;

function policy(dir: string, store: string, llmUrl: string): string {
  return ordersPolicy(
    dir,
    store,
    ['get_order_status'],
    `${llmSection(llmUrl)}profiles:
  agent:
    tools: [orders__get_order_status]
    budgets: { tool_calls: ${CAP}, alert_at: [0.8, 1] }
  talker:
    tools: []
    budgets: { tokens: { total: 100000 }, alert_at: [0.0001, 0.5] }
`,
  );
}

const ENV = { ...ORDERS_ENV, ANTHROPIC_API_KEY: REAL_KEY };

interface Alert {
  code: string | null;
  data: { fraction?: number; used?: number; cap?: number; recovered?: boolean };
}

async function alertsOf(g: GatewayProcess, runId: string): Promise<Alert[]> {
  const { body } = await api<{ events: (Alert & { kind: string })[] }>(
    g.url,
    g.adminToken,
    `/api/events?run=${runId}&kind=budget.alert`,
  );
  return body.events;
}

const status = { name: 'orders__get_order_status', arguments: { order_id: 'ORD-000001' } };

/** Makes tool calls of `token` until the gateway dies; resolves how many were answered. */
async function callUntilDead(g: GatewayProcess, token: string): Promise<number> {
  const agent = await connectAgent(g.url, token);
  let answered = 0;
  try {
    for (let i = 0; i < CAP; i++) {
      await agent.callTool(status);
      answered++;
    }
  } catch {
    // The gateway died under the call.
  }
  await agent.close().catch(() => undefined);
  return answered;
}

/** A gateway on `store` that dies at fault point `point`, and a run of `profile` on it. */
async function armedRun(store: () => Promise<string>, profile: string, point: string) {
  const dir = tempDir('bulkhead-alert-crash-');
  const yaml = policy(dir, await store(), fake.url);
  const armed = await spawnGateway(dir, yaml, { ...ENV, BULKHEAD_TEST_FAULT_POINT: point }).ready;
  const { run_id, token } = await createRun(armed.url, armed.adminToken, profile);
  return { dir, yaml, armed, runId: run_id, token };
}

describe.each(STORES.cases)('budget alerts across kill -9, on $name', ({ available, store }) => {
  it.runIf(available)(
    'raises a tool-call alert whose reservation committed before the crash, once, at the restart',
    async () => {
      const { dir, yaml, armed, runId, token } = await armedRun(store, 'agent', 'budget-crossed');
      // The fourth of five calls reaches 80%: the gateway dies between its reservation and alert.
      expect(await callUntilDead(armed, token)).toBe(3);
      expect(await armed.exited).toBe('SIGKILL');

      const second = await spawnGateway(dir, yaml, ENV).ready;
      expect((await alertsOf(second, runId)).map((a) => [a.code, a.data])).toEqual([
        ['tool_calls', { dimension: 'tool_calls', fraction: 0.8, used: 4, cap: CAP, recovered: true }],
      ]);
    },
    120_000,
  );

  it.runIf(available)(
    'alerts no threshold twice across another crash and the live path crossing the next one',
    async () => {
      const { dir, yaml, armed, runId, token } = await armedRun(store, 'agent', 'budget-crossed');
      await callUntilDead(armed, token);
      await armed.exited;
      const second = await spawnGateway(dir, yaml, ENV).ready;
      second.child.kill('SIGKILL');
      await second.exited;

      const third = await spawnGateway(dir, yaml, ENV).ready;
      // The fifth call reaches 100% live; 80% stays the one alert the first restart raised.
      const agent = await connectAgent(third.url, token);
      await agent.callTool(status);
      await agent.close().catch(() => undefined);
      const alerts = await alertsOf(third, runId);
      expect(alerts.map((a) => [a.data.fraction, a.data.recovered ?? false]).sort()).toEqual([
        [0.8, true],
        [1, false],
      ]);
    },
    120_000,
  );

  it.runIf(available)(
    'raises the token alert an LLM request settled just before the crash crossed',
    async () => {
      const { dir, yaml, armed, runId, token } = await armedRun(store, 'talker', 'llm-settled');
      await new Anthropic({ apiKey: token, baseURL: armed.url, maxRetries: 0 }).messages
        .create({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
        .catch(() => 'cut');
      expect(await armed.exited).toBe('SIGKILL');

      const second = await spawnGateway(dir, yaml, ENV).ready;
      const alerts = await alertsOf(second, runId);
      // At least 10 of 100,000 tokens were used; not 50,000.
      expect(alerts.map((a) => [a.code, a.data.fraction, a.data.recovered])).toEqual([
        ['total_tokens', 0.0001, true],
      ]);
    },
    120_000,
  );
});
