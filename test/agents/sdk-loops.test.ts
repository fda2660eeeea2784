/**
 * Agents built on SDKs, started by `bulkhead run` (without the jail: their
 * packages live in this checkout, which the jail never mounts), configured
 * only by what it hands in: a plain Anthropic SDK tool loop, and the Claude
 * Agent SDK reading the MCP config bulkhead wrote. The model is the fake
 * Messages API behind the gateway's LLM proxy.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, type ScriptBlock, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { bulkhead, cliEnv } from '../helpers/cli.js';
import {
  exampleUpstream,
  ROOT,
  recorded,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';

const dir = tempDir('bulkhead-sdk-');
const RECORD = join(dir, 'received.jsonl');
const KEY = 'sk-ant-real-key-for-tests-0123456789';
const ENV = { ORDERS_API_TOKEN: 'orders-sdk-token-0001', ANTHROPIC_API_KEY: KEY };
const BETAS = [
  'claude-code-20250219',
  'interleaved-thinking-2025-05-14',
  'context-management-2025-06-27',
  'prompt-caching-scope-2026-01-05',
  'effort-2025-11-24',
];
let gw: TestGateway;
let fake: FakeAnthropic;
const plans = new Map<string, (turn: number, prefix: string) => ScriptBlock[]>();

type Message = {
  role: string;
  content:
    | string
    | { type: string; text?: string; tool_use_id?: string; content?: unknown; is_error?: boolean }[];
};

function resultFor(id: string): { text: string; isError: boolean } | undefined {
  for (const r of fake.received)
    for (const m of (r.body.messages as Message[] | undefined) ?? [])
      if (typeof m.content !== 'string')
        for (const b of m.content)
          if (b.type === 'tool_result' && b.tool_use_id === id)
            return { text: JSON.stringify(b.content), isError: b.is_error === true };
  return undefined;
}

beforeAll(async () => {
  fake = await startFakeAnthropic();
  fake.scriptFor = (body) => {
    const messages = (body.messages as Message[] | undefined) ?? [];
    const first = JSON.stringify(messages[0]?.content ?? '');
    const entry = [...plans.entries()].find(([marker]) => first.includes(marker));
    if (!entry) return [{ type: 'text', chunks: ['ok'] }];
    // Claude Code names MCP tools mcp__<server>__<tool>; a plain loop uses the MCP names as they are.
    const prefix = (body.tools as { name: string }[] | undefined)?.some((t) => t.name.startsWith('mcp__'))
      ? 'mcp__bulkhead__'
      : '';
    return entry[1](messages.filter((m) => m.role === 'assistant').length, prefix);
  };
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')), BULKHEAD_RECORD: JSON.stringify(RECORD) })}
tools:
  orders:
    get_order_status: { class: read, arguments: { order_id: { pattern: "^ORD-[0-9]{6}$" } } }
llm:
  base_url: ${fake.url}
  api_key: { secret: ANTHROPIC_API_KEY }
profiles:
  agent:
    tools: [orders__get_order_status]
    llm: { betas: [${BETAS.join(', ')}] }
`,
    { dir, env: ENV },
  );
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

const loopPlan = (a: string, b: string) => (turn: number, prefix: string) =>
  turn === 0
    ? [
        {
          type: 'tool_use' as const,
          id: a,
          name: `${prefix}orders__get_order_status`,
          chunks: ['{"order_id":"ORD-000002"}'],
        },
      ]
    : turn === 1
      ? [
          {
            type: 'tool_use' as const,
            id: b,
            name: `${prefix}orders__get_order_status`,
            chunks: ['{"order_id":"2; DROP"}'],
          },
        ]
      : [{ type: 'text' as const, chunks: ['loop finished'] }];

function run(script: string, marker: string, agent?: string) {
  return bulkhead(
    [
      'run',
      '--policy',
      join(gw.dir, 'policy.yaml'),
      '--profile',
      'agent',
      '--no-sandbox',
      ...(agent ? ['--agent', agent] : []),
      '--',
      process.execPath,
      join(ROOT, 'test/agents/fixtures', script),
      `${marker}: look the order up`,
    ],
    { env: cliEnv(gw), timeoutMs: 120_000 },
  );
}

describe('SDK agents under bulkhead run', () => {
  it('an Anthropic SDK loop: tools reach the upstream, a denial comes back as a tool error', async () => {
    plans.set('plain-loop', loopPlan('toolu_sdk_a', 'toolu_sdk_b'));
    const result = await run('anthropic-loop.mjs', 'plain-loop');
    expect(result.stdout).toContain('FINAL loop finished');
    expect(result.code).toBe(0);
    expect(resultFor('toolu_sdk_a')).toMatchObject({ isError: false });
    expect(resultFor('toolu_sdk_a')?.text).toContain('ORD-000002');
    expect(resultFor('toolu_sdk_b')?.isError).toBe(true);
    expect(resultFor('toolu_sdk_b')?.text).toContain('invalid_arguments');
    expect(recorded(RECORD).filter((r) => r.tool === 'get_order_status')).toHaveLength(1);
    expect(fake.received.every((r) => r.headers['x-api-key'] === KEY)).toBe(true);
  }, 150_000);

  it('the Claude Agent SDK, given the MCP config bulkhead wrote (--agent agent-sdk)', async () => {
    plans.set('agent-sdk-run', loopPlan('toolu_asdk_a', 'toolu_asdk_b'));
    const result = await run('agent-sdk.mjs', 'agent-sdk-run', 'agent-sdk');
    expect(result.stdout).toContain('FINAL loop finished');
    expect(resultFor('toolu_asdk_a')?.text).toContain('ORD-000002');
    expect(resultFor('toolu_asdk_b')?.isError).toBe(true);
    expect(resultFor('toolu_asdk_b')?.text).toContain('invalid_arguments');
    expect(recorded(RECORD).filter((r) => r.tool === 'get_order_status')).toHaveLength(2);
  }, 150_000);
});
