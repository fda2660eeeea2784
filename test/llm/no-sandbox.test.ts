/**
 * No way around the proxy: `bulkhead run --no-sandbox` (the real CLI) hands
 * the agent the gateway as its LLM API and the run token as its key, and
 * removes the real provider keys it was started with; an agent using the
 * Anthropic SDK with its defaults lands on the proxy, charged to its run,
 * with the real key injected on the far side only. The warning says so.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { bulkhead } from '../helpers/cli.js';
import { ROOT, startTestGateway, type TestGateway } from '../helpers/harness.js';

const REAL_KEY = 'sk-ant-real-key-for-tests-0123456789';
let fake: FakeAnthropic;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams: {}
llm:
  base_url: ${fake.url}
  api_key: { secret: ANTHROPIC_API_KEY }
profiles:
  agent:
    budgets: { tokens: { output: 1000 } }
`,
    { env: { ANTHROPIC_API_KEY: REAL_KEY } },
  );
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

/** An agent that reports its LLM environment, then asks the API through the SDK's defaults. */
const AGENT = `
import Anthropic from '@anthropic-ai/sdk';
const keys = ['ANTHROPIC_API_KEY','ANTHROPIC_BASE_URL','OPENAI_API_KEY','OPENAI_BASE_URL','GEMINI_API_KEY','CLAUDE_CODE_USE_BEDROCK'];
console.log(JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k] ?? null]))));
const m = await new Anthropic({ maxRetries: 0 }).messages.create({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
console.log(JSON.stringify({ answer: m.content[0].text }));
`;

describe('bulkhead run --no-sandbox', () => {
  it('routes the agent’s LLM traffic through the proxy and strips real provider keys', async () => {
    const before = fake.received.length;
    const result = await bulkhead(
      [
        'run',
        '--no-sandbox',
        '--policy',
        join(gw.dir, 'policy.yaml'),
        '--profile',
        'agent',
        '--gateway',
        gw.gateway.url,
        '--',
        process.execPath,
        '--input-type=module',
        '-e',
        AGENT,
      ],
      {
        cwd: ROOT,
        env: {
          BULKHEAD_OPERATOR_TOKEN: gw.gateway.localToken,
          ANTHROPIC_API_KEY: REAL_KEY,
          OPENAI_API_KEY: 'sk-proj-real-openai-key',
          GEMINI_API_KEY: 'real-gemini-key',
          CLAUDE_CODE_USE_BEDROCK: '1',
          NODE_PATH: join(ROOT, 'node_modules'),
        },
      },
    );
    expect(result.stderr).toContain('LLM traffic still goes through the gateway');
    const [envLine, answerLine] = result.stdout.trim().split('\n');
    const env = JSON.parse(envLine as string) as Record<string, string | null>;
    expect(env.ANTHROPIC_BASE_URL).toBe(gw.gateway.url);
    expect(env.ANTHROPIC_API_KEY).toMatch(/^bhr_/);
    expect(env.OPENAI_API_KEY).toBe(env.ANTHROPIC_API_KEY);
    expect(env.OPENAI_BASE_URL).toBe(`${gw.gateway.url}/v1`);
    expect(env.GEMINI_API_KEY).toBeNull();
    expect(env.CLAUDE_CODE_USE_BEDROCK).toBeNull();
    expect(JSON.parse(answerLine as string)).toEqual({ answer: 'Hello from' });
    // The request went through the proxy: the run token was swapped for the real key there.
    expect(fake.received.length).toBe(before + 1);
    expect(fake.received.at(-1)?.headers['x-api-key']).toBe(REAL_KEY);
    const [run] = (await gw.gateway.runs.list()).filter((r) => r.profile === 'agent');
    expect((await gw.gateway.store.tokens.usage(run?.id as string)).requests).toBe(1);
    expect(result.code).toBe(0);
  }, 60_000);
});
