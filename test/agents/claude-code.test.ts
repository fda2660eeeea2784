/**
 * Real Claude Code (the pinned npm package) headless inside `bulkhead run
 * --agent claude-code`, its model played by the fake Messages API behind the
 * gateway's LLM proxy: the tool loop reaches an upstream through the MCP
 * config bulkhead wrote, a denial reaches the model as a tool error, a call
 * held for longer than 60 s completes after approval with Claude Code's
 * default timeouts, and a kill ends every process of the jailed tree.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHash } from '../../src/approvals/approval.js';
import { type FakeAnthropic, type ScriptBlock, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { heldRunId, processesWith, runAgent } from '../helpers/agent-runs.js';
import {
  agentCopy,
  CLAUDE_BETAS,
  claudeToolResults,
  type Message,
  ordersAgentPolicy,
  toolUse,
} from '../helpers/agent-scene.js';
import { bulkhead, cliEnv } from '../helpers/cli.js';
import {
  exampleUpstream,
  ROOT,
  recorded,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';
import { skipWithoutSandbox } from '../sandbox/jail-harness.js';

const skip = skipWithoutSandbox();
const dir = tempDir('bulkhead-claude-');
const RECORD = join(dir, 'received.jsonl');
const KEY = 'sk-ant-real-key-for-tests-0123456789';
const ENV = {
  ORDERS_API_TOKEN: 'orders-claude-token-0001',
  ANTHROPIC_API_KEY: KEY,
  ALICE: 'bho_alice-claude-0001',
};
let gw: TestGateway;
let fake: FakeAnthropic;
let claude: string;
let env: Record<string, string>;
let packageDir = '';

/** What the model does, keyed by the marker in the prompt: a list of turns, each after a tool result. */
const plans = new Map<string, (turn: number) => ScriptBlock[]>();

const toolResults = () => claudeToolResults(fake.received);

beforeAll(async () => {
  if (skip) return;
  fake = await startFakeAnthropic();
  fake.scriptFor = (body) => {
    const messages = (body.messages as Message[] | undefined) ?? [];
    const first = messages[0];
    const prompt = typeof first?.content === 'string' ? first.content : JSON.stringify(first?.content ?? '');
    const plan = [...plans.entries()].find(([marker]) => prompt.includes(marker))?.[1];
    if (!plan) return [{ type: 'text', chunks: ['ok'] }];
    const turn = messages.filter((m) => m.role === 'assistant').length;
    return plan(turn);
  };
  gw = await startTestGateway(
    ordersAgentPolicy({
      upstream: exampleUpstream('orders', {
        ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }',
        ORDERS_DB: JSON.stringify(join(dir, 'orders.db')),
        BULKHEAD_RECORD: JSON.stringify(RECORD),
      }),
      llmUrl: fake.url,
      profileLlm: `      betas: [${CLAUDE_BETAS.join(', ')}]`,
    }),
    { dir, env: ENV },
  );
  packageDir = agentCopy(
    'bulkhead-claude-pkg-',
    join(ROOT, 'node_modules/@anthropic-ai/claude-code'),
    'claude-code',
  );
  claude = join(packageDir, 'claude-code', 'cli.js');
  env = cliEnv(gw);
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await fake?.close();
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
});

function runClaude(marker: string, timeoutMs: number) {
  const command = ['node', claude, '-p', `${marker}: check the order`, '--allowedTools', 'mcp__bulkhead'];
  return runAgent(gw, 'claude-code', [...command, '--output-format', 'json'], env, timeoutMs);
}

describe.skipIf(skip)('Claude Code inside bulkhead run', () => {
  it('reaches the upstream through the MCP config bulkhead wrote; a denial reaches the model as a tool error', async () => {
    plans.set('loop-1', (turn) =>
      turn === 0
        ? [toolUse('toolu_loop_a', 'orders__get_order_status', { order_id: 'ORD-000001' })]
        : turn === 1
          ? [toolUse('toolu_loop_b', 'orders__get_order_status', { order_id: "ORD-1' OR 1=1" })]
          : [{ type: 'text', chunks: ['all done'] }],
    );
    const result = await runClaude('loop-1', 120_000);
    expect(result.stderr).toMatch(/bulkhead: run run_/);
    const final = JSON.parse(result.stdout) as { result: string; is_error: boolean };
    expect(final.result).toBe('all done');
    expect(result.code).toBe(0);
    const results = toolResults();
    expect(results.get('toolu_loop_a')?.isError).toBe(false);
    expect(results.get('toolu_loop_a')?.text).toContain('ORD-000001');
    expect(results.get('toolu_loop_b')?.isError).toBe(true);
    expect(results.get('toolu_loop_b')?.text).toContain('invalid_arguments');
    const statuses = recorded(RECORD).filter((r) => r.tool === 'get_order_status');
    expect(statuses.map((r) => (r.arguments as { order_id: string }).order_id)).toEqual(['ORD-000001']);
    // The model's key never entered the jail: the fake only ever saw the real one.
    expect(fake.received.every((r) => r.headers['x-api-key'] === KEY)).toBe(true);
  }, 150_000);

  it('completes a call held for more than 60 s after approval, with Claude Code default timeouts', async () => {
    plans.set('held-1', (turn) =>
      turn === 0
        ? [
            toolUse('toolu_held', 'orders__refund_order', {
              order_id: 'ORD-000007',
              amount_cents: 500,
              reason: 'late',
            }),
          ]
        : [{ type: 'text', chunks: ['refund finished'] }],
    );
    const running = runClaude('held-1', 240_000);
    let approval: Awaited<ReturnType<typeof gw.gateway.store.approvals.list>>[number] | undefined;
    for (let i = 0; i < 600 && !approval; i++) {
      approval = (await gw.gateway.store.approvals.list({ state: 'pending' })).find(
        (a) => (a.arguments as { order_id?: string }).order_id === 'ORD-000007',
      );
      if (!approval) await new Promise((r) => setTimeout(r, 200));
    }
    expect(approval).toBeDefined();
    // Longer than Claude Code's 60 s wait for an answer to start, and the MCP SDK's default timeout.
    await new Promise((r) => setTimeout(r, 65_000));
    const approved = await fetch(`${gw.gateway.url}/api/approvals/${approval?.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ENV.ALICE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ args_hash: runHash(approval as NonNullable<typeof approval>) }),
    });
    expect(approved.status).toBe(200);
    const result = await running;
    const final = JSON.parse(result.stdout) as { result: string };
    expect(final.result).toBe('refund finished');
    const held = toolResults().get('toolu_held');
    expect(held?.isError).toBe(false);
    expect(held?.text).toContain('ORD-000007');
    expect(recorded(RECORD).filter((r) => r.tool === 'refund_order')).toHaveLength(1);
  }, 300_000);

  it('a kill ends every process of the jailed tree, and bulkhead run exits promptly', async () => {
    const marker = `kill-${Date.now()}`;
    plans.set(marker, () => [
      toolUse('toolu_kill', 'orders__refund_order', { order_id: 'ORD-000008', amount_cents: 1, reason: 'k' }),
    ]);
    const running = runClaude(marker, 120_000);
    const runId = await heldRunId(gw, 'ORD-000008');
    expect(runId).toBeDefined();
    expect(processesWith(marker).length).toBeGreaterThan(0);
    const killed = await bulkhead(['kill', runId as string], { env });
    expect(killed.code).toBe(0);
    const killedAt = Date.now();
    const result = await running;
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(result.code).not.toBe(0);
    expect(processesWith(marker)).toEqual([]);
    expect(
      recorded(RECORD).filter((r) => (r.arguments as { order_id?: string }).order_id === 'ORD-000008'),
    ).toEqual([]);
  }, 150_000);
});
