/**
 * Real OpenAI Codex (the pinned `@openai/codex` package's native binary),
 * `codex exec` inside `bulkhead run --agent codex`, its model played by the
 * fake Responses API behind the gateway's LLM proxy: the scripted function
 * call to a bulkhead MCP tool reaches the upstream through the MCP server the
 * preset configured, a denied call's denial reaches the model as the tool's
 * output, the model's tokens are counted in the run's budget, and a kill ends
 * every process of the jailed tree.
 */
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeResponses,
  type OutputScript,
  RESPONSES_KEY,
  startFakeResponses,
} from '../fakes/fake-responses.js';
import { heldRunId, processesWith, runAgent } from '../helpers/agent-runs.js';
import { agentCopy, ordersAgentPolicy } from '../helpers/agent-scene.js';
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
const dir = tempDir('bulkhead-codex-');
const RECORD = join(dir, 'received.jsonl');
const ENV = {
  ORDERS_API_TOKEN: 'orders-codex-token-0001',
  ANTHROPIC_API_KEY: RESPONSES_KEY,
  ALICE: 'bho_alice-codex-0001',
};
const NATIVE = 'node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex';
let gw: TestGateway;
let fake: FakeResponses;
let codex: string;
let env: Record<string, string>;
let packageDir = '';

type Item = {
  type?: string;
  role?: string;
  content?: unknown;
  call_id?: string;
  output?: unknown;
  name?: string;
};
type Tool = { type?: string; name?: string; tools?: Tool[] };

/** What the model does, keyed by the marker in the prompt: turn n is after n tool outputs. */
const plans = new Map<string, (turn: number, tool: (name: string) => string) => OutputScript[]>();

/** Every function Codex offered the model, as `namespace/name` for those inside a namespace. */
function toolNames(body: Record<string, unknown>): string[] {
  const walk = (tools: Tool[], prefix: string): string[] =>
    tools.flatMap((t) =>
      t.type === 'namespace' ? walk(t.tools ?? [], `${t.name}/`) : t.name ? [`${prefix}${t.name}`] : [],
    );
  return walk((body.tools as Tool[] | undefined) ?? [], '');
}

/** Tool outputs Codex sent back to the model, by call id. */
function toolOutputs(): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of fake.received)
    for (const item of (r.body.input as Item[] | undefined) ?? [])
      if (item.type === 'function_call_output' && item.call_id)
        out.set(item.call_id, JSON.stringify(item.output));
  return out;
}

beforeAll(async () => {
  if (skip) return;
  fake = await startFakeResponses();
  fake.scriptFor = (body) => {
    const input = (body.input as Item[] | undefined) ?? [];
    const text = JSON.stringify(input.filter((i) => i.role === 'user'));
    const plan = [...plans.entries()].find(([marker]) => text.includes(marker))?.[1];
    if (!plan) return [{ type: 'message', chunks: ['ok'] }];
    const names = toolNames(body);
    // The MCP tool as Codex offers it: inside the namespace `mcp__bulkhead` (its MCP server's name).
    const tool = (name: string) =>
      names.find((n) => n.endsWith(name)) ?? `missing:${name}:${names.join(',')}`;
    return plan(input.filter((i) => i.type === 'function_call_output').length, tool);
  };
  gw = await startTestGateway(
    ordersAgentPolicy({
      upstream: exampleUpstream('orders', {
        ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }',
        ORDERS_DB: JSON.stringify(join(dir, 'orders.db')),
        BULKHEAD_RECORD: JSON.stringify(RECORD),
      }),
      llmUrl: fake.url,
      profileLlm: '      models: [gpt-test]',
    }),
    { dir, env: ENV },
  );
  packageDir = agentCopy('bulkhead-codex-pkg-', join(ROOT, NATIVE), 'codex');
  codex = join(packageDir, 'codex');
  chmodSync(codex, 0o755);
  env = cliEnv(gw);
}, 180_000);
afterAll(async () => {
  await gw?.close();
  await fake?.close();
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
});

function runCodex(marker: string, timeoutMs: number) {
  const command = [codex, 'exec', '--skip-git-repo-check', '-m', 'gpt-test', `${marker}: check the order`];
  return runAgent(gw, 'codex', command, env, timeoutMs);
}

const call = (tool: string, id: string, args: Record<string, unknown>): OutputScript => {
  const [namespace, name] = tool.includes('/') ? tool.split('/') : [undefined, tool];
  return {
    type: 'function_call',
    name: name as string,
    ...(namespace ? { namespace } : {}),
    call_id: id,
    chunks: [JSON.stringify(args)],
  };
};

/** What to print when a run fails: the agent's output and what the model was asked. */
function diagnostics(result: { code: number | null; stdout: string; stderr: string }): string {
  const last = fake.received.at(-1)?.body;
  return [
    `exit ${result.code}`,
    `stdout: ${result.stdout.slice(-3000)}`,
    `stderr: ${result.stderr.slice(-3000)}`,
    `requests: ${fake.received.length}`,
    `tools: ${last ? toolNames(last).join(', ') : '-'}`,
  ].join('\n');
}

describe.skipIf(skip)('Codex inside bulkhead run', () => {
  it('calls an MCP tool through bulkhead; a denial reaches the model; its tokens are counted', async () => {
    plans.set('loop-1', (turn, tool) =>
      turn === 0
        ? [call(tool('orders__get_order_status'), 'call_loop_a', { order_id: 'ORD-000001' })]
        : turn === 1
          ? [call(tool('orders__get_order_status'), 'call_loop_b', { order_id: "ORD-1' OR 1=1" })]
          : [{ type: 'message', chunks: ['all ', 'done'] }],
    );
    const before = fake.received.length;
    const result = await runCodex('loop-1', 180_000);
    const why = diagnostics(result);
    expect(result.code, why).toBe(0);
    expect(result.stdout, why).toContain('all done');
    const outputs = toolOutputs();
    expect(outputs.get('call_loop_a'), why).toContain('ORD-000001');
    expect(outputs.get('call_loop_b'), why).toContain('invalid_arguments');
    const statuses = recorded(RECORD).filter((r) => r.tool === 'get_order_status');
    expect(statuses.map((r) => (r.arguments as { order_id: string }).order_id)).toEqual(['ORD-000001']);
    // Only the gateway's real key reached the model API; the run token stayed in the jail.
    const mine = fake.received.slice(before);
    expect(mine.length).toBeGreaterThanOrEqual(3);
    expect(mine.every((r) => r.headers.authorization === `Bearer ${RESPONSES_KEY}`)).toBe(true);
    // Every model request was counted in the run's budget (25 input, 10 of them cached, each).
    const runId = /bulkhead: run (run_[A-Za-z0-9_-]+)/.exec(result.stderr)?.[1];
    expect(runId, why).toBeDefined();
    const usage = await gw.gateway.store.tokens.usage(runId as string);
    expect(usage.requests).toBe(mine.length);
    expect(usage.input).toBe(16 * mine.length);
    expect(usage.output).toBeGreaterThanOrEqual(3);
  }, 240_000);

  it('a kill ends every process of the jailed tree, and bulkhead run exits promptly', async () => {
    const marker = `kill-${Date.now()}`;
    plans.set(marker, (_turn, tool) => [
      call(tool('orders__refund_order'), 'call_kill', {
        order_id: 'ORD-000008',
        amount_cents: 1,
        reason: 'k',
      }),
    ]);
    const running = runCodex(marker, 180_000);
    const runId = await heldRunId(gw, 'ORD-000008', 180);
    if (!runId) throw new Error(diagnostics(await running));
    expect(processesWith(marker).length).toBeGreaterThan(0);
    const killed = await bulkhead(['kill', runId], { env });
    expect(killed.code).toBe(0);
    const killedAt = Date.now();
    const result = await running;
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    expect(result.code).not.toBe(0);
    expect(processesWith(marker)).toEqual([]);
    expect(
      recorded(RECORD).filter((r) => (r.arguments as { order_id?: string }).order_id === 'ORD-000008'),
    ).toEqual([]);
  }, 240_000);
});
