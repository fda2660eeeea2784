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

/** One server-sent event as the Messages API writes it. */
export const sseEvent = (name: string, data: unknown): string =>
  `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

/** A Messages API answer with `text` as its one block, as a plain answer or the `message_start` base. */
export function messageAnswer(text: string, usage = { input_tokens: 5, output_tokens: 5 }) {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-test',
    content: text ? [{ type: 'text', text }] : [],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage,
  };
}

/** `POST /v1/messages` for `claude-test` with a run token, read raw (no SDK, no retries). */
export function postMessages(gw: TestGateway, token: string, body: Record<string, unknown> = {}) {
  return fetch(`${gw.gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': token, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'claude-test',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hi' }],
      ...body,
    }),
  });
}

/**
 * The run's `llm.request` event. The ledger is settled first and the event written after it
 * (group-committed with other events), so this polls a moment.
 */
export async function settledLlmEvent(gw: TestGateway, runId: string) {
  for (let i = 0; i < 100; i++) {
    const [event] = await gw.gateway.store.events.list({ runId, kind: 'llm.request' });
    if (event) return event;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}
