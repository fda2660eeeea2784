/**
 * LLM proxy under test: the fake Messages API, a real gateway whose `llm:`
 * section points at it with the real key held server-side, and agents that
 * are the real Anthropic SDK holding only a run token.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { startTestGateway, type TestGateway } from './harness.js';

/** The provider key the gateway injects; no agent ever holds it. */
export const REAL_KEY = 'sk-ant-real-key-for-tests-0123456789';

/** The one model the fake prices, at $3 in and $15 out per million tokens. */
export const PRICES = '  prices:\n    claude-test: { input: 3, output: 15 }';

/**
 * A policy with no MCP upstreams and the LLM API at `baseUrl`. `profiles` is
 * the YAML under `profiles:`, indented by two spaces; `llm` adds lines to the
 * `llm:` section (e.g. PRICES).
 */
export function llmPolicy(baseUrl: string, profiles: string, llm = ''): string {
  return [
    'version: 1',
    'store: { sqlite: ./bulkhead.db }',
    'upstreams: {}',
    'llm:',
    `  base_url: ${baseUrl}`,
    '  api_key: { secret: ANTHROPIC_API_KEY }',
    ...(llm ? [llm] : []),
    'profiles:',
    profiles.replace(/^\n+|\s+$/g, ''),
    '',
  ].join('\n');
}

/** Options for `startTestGateway` that give it the real key. */
export const withRealKey = { env: { ANTHROPIC_API_KEY: REAL_KEY } };

export interface LlmAgent {
  client: Anthropic;
  runId: string;
  token: string;
}

/** A new run of `profile` and an SDK client that holds only its token. */
export async function anthropicAgent(gw: TestGateway, profile: string): Promise<LlmAgent> {
  const { run, token } = await gw.gateway.runs.create(profile);
  return {
    client: new Anthropic({ apiKey: token, baseURL: gw.gateway.url, maxRetries: 0 }),
    runId: run.id,
    token,
  };
}

export interface LlmGateway {
  fake: FakeAnthropic;
  gw: TestGateway;
  close(): Promise<void>;
}

/** Starts the fake API and a gateway in front of it with `llmPolicy(fake.url, profiles, llm)`. */
export async function startLlmGateway(profiles: string, llm = ''): Promise<LlmGateway> {
  const fake = await startFakeAnthropic();
  try {
    const gw = await startTestGateway(llmPolicy(fake.url, profiles, llm), withRealKey);
    return {
      fake,
      gw,
      close: async () => {
        await gw.close();
        await fake.close();
      },
    };
  } catch (error) {
    await fake.close();
    throw error;
  }
}

/**
 * `startLlmGateway` for a whole test file: started before its tests, closed
 * after them. Read `fake` and `gw` inside tests (they exist once started).
 */
export function useLlmGateway(
  profiles: string,
  llm = '',
): { readonly fake: FakeAnthropic; readonly gw: TestGateway } {
  let started: LlmGateway | undefined;
  beforeAll(async () => {
    started = await startLlmGateway(profiles, llm);
  });
  afterAll(() => started?.close());
  const get = (): LlmGateway => {
    if (!started) throw new Error('the LLM gateway is used before beforeAll started it');
    return started;
  };
  return {
    get fake() {
      return get().fake;
    },
    get gw() {
      return get().gw;
    },
  };
}
