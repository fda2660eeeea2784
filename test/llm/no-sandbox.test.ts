/**
 * No way around the proxy: `bulkhead run --no-sandbox` (the real CLI) hands
 * the agent the gateway as its LLM API and the run token as its key, and
 * removes the real provider keys it was started with; an agent using the
 * Anthropic SDK with its defaults lands on the proxy, charged to its run,
 * with the real key injected on the far side only. The warning says so.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { ROOT } from '../helpers/harness.js';
import { REAL_KEY, useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    budgets: { tokens: { output: 1000 } }
`;
const llm = useLlmGateway(PROFILES);

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
    const before = llm.fake.received.length;
    const result = await bulkhead(
      [
        'run',
        '--no-sandbox',
        '--policy',
        join(llm.gw.dir, 'policy.yaml'),
        '--profile',
        'agent',
        '--gateway',
        llm.gw.gateway.url,
        '--',
        process.execPath,
        '--input-type=module',
        '-e',
        AGENT,
      ],
      {
        cwd: ROOT,
        env: {
          BULKHEAD_OPERATOR_TOKEN: llm.gw.gateway.localToken,
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
    expect(env.ANTHROPIC_BASE_URL).toBe(llm.gw.gateway.url);
    expect(env.ANTHROPIC_API_KEY).toMatch(/^bhr_/);
    expect(env.OPENAI_API_KEY).toBe(env.ANTHROPIC_API_KEY);
    expect(env.OPENAI_BASE_URL).toBe(`${llm.gw.gateway.url}/v1`);
    expect(env.GEMINI_API_KEY).toBeNull();
    expect(env.CLAUDE_CODE_USE_BEDROCK).toBeNull();
    expect(JSON.parse(answerLine as string)).toEqual({ answer: 'Hello from' });
    // The request went through the proxy: the run token was swapped for the real key there.
    expect(llm.fake.received.length).toBe(before + 1);
    expect(llm.fake.received.at(-1)?.headers['x-api-key']).toBe(REAL_KEY);
    const [run] = (await llm.gw.gateway.runs.list()).filter((r) => r.profile === 'agent');
    expect((await llm.gw.gateway.store.tokens.usage(run?.id as string)).requests).toBe(1);
    expect(result.code).toBe(0);
  }, 60_000);
});
