/**
 * The LLM proxy when things go wrong, with the real Anthropic SDK as the
 * agent: streams cut by a kill, by the client leaving or by an
 * `overloaded_error` event are charged for what was sent and never leave a
 * reservation open; a plain request cut by a kill costs what it reserved;
 * budget thresholds are recorded once each; odd SSE line endings are still read.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway } from '../helpers/harness.js';
import {
  anthropicAgent,
  llmPolicy,
  PRICES,
  REAL_KEY,
  settledLlmEvent,
  useLlmGateway,
} from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    budgets: { tokens: { output: 1000 } }
  alerting:
    budgets: { tokens: { output: 40, cache_write_weight: 2 }, usd: 0.0015, alert_at: [0.5, 1] }
`;
const llm = useLlmGateway(PROFILES, PRICES);

const ask = { model: 'claude-test', messages: [{ role: 'user' as const, content: 'hi' }] };

const sdkFor = (profile: string) => anthropicAgent(llm.gw, profile);

/** The usage once the request has settled (a cut stream settles just after the agent sees the end). */
async function settledUsage(runId: string, requests = 1) {
  for (let i = 0; i < 100; i++) {
    const usage = await llm.gw.gateway.store.tokens.usage(runId);
    if (usage.requests >= requests) return usage;
    await new Promise((r) => setTimeout(r, 20));
  }
  return llm.gw.gateway.store.tokens.usage(runId);
}

const settledEvent = (runId: string) => settledLlmEvent(llm.gw, runId);

afterEach(() => {
  llm.fake.delayMs = 5;
  llm.fake.plainDelayMs = 0;
  llm.fake.overloadAfter = undefined;
  llm.fake.dropAfter = undefined;
  llm.fake.failWith = undefined;
  llm.fake.crlf = false;
  llm.fake.usage = { input_tokens: 25, cache_read_input_tokens: 10, cache_creation_input_tokens: 0 };
});

describe('LLM proxy: cut streams and alerts', () => {
  it('ends a stream cut by a kill with an error event the SDK raises', async () => {
    llm.fake.delayMs = 60;
    const { client, runId } = await sdkFor('agent');
    const stream = client.messages.stream({ ...ask, max_tokens: 20 });
    stream.on('text', () => void llm.gw.gateway.runs.end(runId, 'killed', 'test'));
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('permission_error');
    expect(String(error)).toContain('this run has ended');
  });

  it('charges a stream the client abandons for what was sent', async () => {
    llm.fake.delayMs = 60;
    const { client, runId } = await sdkFor('agent');
    const stream = client.messages.stream({ ...ask, max_tokens: 20 });
    let texts = 0;
    stream.on('text', () => {
      if (++texts === 2) stream.abort();
    });
    await stream.finalMessage().catch(() => undefined);
    const usage = await settledUsage(runId);
    expect(usage.requests).toBe(1);
    expect(usage.input).toBe(26);
    // Two words passed ("Hello", " from": 10 characters, 4 tokens at 3 characters a token)
    // before the last cumulative usage arrived: charged for what was visibly generated.
    expect(usage.output).toBeGreaterThanOrEqual(4);
    expect(usage.output).toBeLessThan(12);
    const event = await settledEvent(runId);
    expect(event?.code).toBe('client_gone');
  });

  it('cuts the API request when the agent leaves before any answer, and records it as client_gone', async () => {
    // The agent's connection is watched through its node response (no AbortSignal), so this
    // is the path where nothing has been written to the agent yet.
    llm.fake.plainDelayMs = 400;
    const { runId, token } = await sdkFor('agent');
    const seen = llm.fake.received.length;
    const gone = new AbortController();
    const request = fetch(`${llm.gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...ask, max_tokens: 20 }),
      signal: gone.signal,
    }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && llm.fake.received.length === seen; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(llm.fake.received.length).toBe(seen + 1);
    gone.abort();
    await request;
    const event = await settledEvent(runId);
    expect(event?.code).toBe('client_gone');
    // Settled at what was reserved (the API may bill work it started): 20 output tokens at most.
    expect((await llm.gw.gateway.store.tokens.usage(runId)).output).toBe(20);
  });

  it('passes an overloaded_error event to the SDK and charges the tokens sent before it', async () => {
    llm.fake.overloadAfter = 2;
    const { client, runId } = await sdkFor('agent');
    const error = await client.messages
      .stream({ ...ask, max_tokens: 20 })
      .finalMessage()
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
    const usage = await settledUsage(runId);
    expect(usage).toMatchObject({ input: 26, output: 4, requests: 1 });
    const event = await settledEvent(runId);
    expect(event?.code).toBe('upstream_overloaded_error');
  });

  it('ends a stream whose upstream connection drops with an api_error event, charged for what passed', async () => {
    llm.fake.dropAfter = 3;
    const { client, runId } = await sdkFor('agent');
    const error = await client.messages
      .stream({ ...ask, max_tokens: 20 })
      .finalMessage()
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('api_error');
    const usage = await settledUsage(runId);
    expect(usage).toMatchObject({ input: 26, output: 6, requests: 1 });
    const event = await settledEvent(runId);
    expect(event?.code).toBe('upstream_error');
  });

  it('charges a plain request cut by a kill what it reserved, and closes its reservation', async () => {
    llm.fake.plainDelayMs = 300;
    const { client, runId } = await sdkFor('agent');
    const pending = client.messages.create({ ...ask, max_tokens: 50 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await llm.gw.gateway.runs.end(runId, 'killed', 'test');
    expect(await pending).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const usage = await settledUsage(runId);
    expect(usage.requests).toBe(1);
    expect(usage.output).toBe(50);
  });

  it('never hands the real key to the agent, even in an API error that quotes it', async () => {
    llm.fake.failWith = 400;
    const { client, runId } = await sdkFor('agent');
    const error = await client.messages.create({ ...ask, max_tokens: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(JSON.stringify((error as InstanceType<typeof Anthropic.APIError>).error)).not.toContain(REAL_KEY);
    expect(String(error)).toContain('[REDACTED:secret]');
    expect(await settledUsage(runId)).toMatchObject({ input: 0, output: 0, requests: 1 });
  });

  it('reads usage from a stream with CRLF line endings', async () => {
    llm.fake.crlf = true;
    const { client, runId } = await sdkFor('agent');
    const final = await client.messages.stream({ ...ask, max_tokens: 20 }).finalMessage();
    expect(final.content[0]).toMatchObject({ text: 'Hello from the fake API.' });
    expect(await settledUsage(runId)).toMatchObject({ input: 26, output: 12 });
  });

  it('charges cache writes with the profile weight', async () => {
    llm.fake.usage = { input_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 100 };
    const { client, runId } = await sdkFor('alerting');
    await client.messages.create({ ...ask, max_tokens: 2 });
    expect((await settledUsage(runId)).input).toBe(210);
  });

  it('records each budget threshold once, on the request that crossed it', async () => {
    const { client, runId } = await sdkFor('alerting');
    // 12 output tokens a request against 40: 12, 24 (crosses 50%), 36, then clamped to 4 (crosses 100%).
    for (let i = 0; i < 4; i++) await client.messages.create({ ...ask, max_tokens: 12 });
    const alerts = await llm.gw.gateway.store.events.list({ runId, kind: 'budget.alert' });
    const seen = alerts.map((e) => `${e.code}@${(e.data as { fraction: number }).fraction}`).sort();
    // usd: each request costs (25×3 + 10×0.3 + 12×15) per million: 774 of 1,500 after three.
    expect(seen.filter((k) => k.startsWith('output_tokens'))).toEqual([
      'output_tokens@0.5',
      'output_tokens@1',
    ]);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain('usd@0.5');
  });
});

describe('LLM proxy: unreachable API', () => {
  it('answers 502 in the API error shape and charges nothing', async () => {
    const dead = await startTestGateway(llmPolicy('http://127.0.0.1:9', PROFILES, PRICES), {
      env: { ANTHROPIC_API_KEY: REAL_KEY },
    });
    try {
      const { run, token } = await dead.gateway.runs.create('agent');
      const client = new Anthropic({ apiKey: token, baseURL: dead.gateway.url, maxRetries: 0 });
      const error = await client.messages.create({ ...ask, max_tokens: 5 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.InternalServerError);
      expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(502);
      expect(await dead.gateway.store.tokens.usage(run.id)).toMatchObject({
        input: 0,
        output: 0,
        requests: 1,
      });
    } finally {
      await dead.close();
    }
  });
});
