/**
 * The LLM proxy with the real Anthropic TypeScript SDK as the agent, against
 * a local fake of the Messages API: plain, streaming (no buffering), clamped,
 * refused; the real key never reaches the agent and the run token never
 * reaches the API; cumulative stream usage is charged once; a stream cut by a
 * kill is still charged.
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { anthropicAgent, PRICES, REAL_KEY, useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    llm: { models: [claude-test] }
    budgets: { tokens: { output: 40, input: 10000 } }
  tight:
    budgets: { tokens: { output: 5 } }
  tiny-input:
    budgets: { tokens: { input: 10 } }
  broke:
    budgets: { usd: 0.00001 }
`;
const llm = useLlmGateway(PROFILES, PRICES);

const sdkFor = (profile: string) => anthropicAgent(llm.gw, profile);

/** Requests the fake received for /v1/messages itself (count_tokens calls aside). */
const sent = () => llm.fake.received.filter((r) => r.path === '/v1/messages').length;

const ask = { model: 'claude-test', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('LLM proxy', () => {
  it('answers a plain request and charges its usage, cache reads weighted', async () => {
    const { client, runId } = await sdkFor('agent');
    const message = await client.messages.create({ ...ask, max_tokens: 20 });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Hello from the fake API.' });
    const usage = await llm.gw.gateway.store.tokens.usage(runId);
    expect(usage).toMatchObject({ input: 26, output: 12, requests: 1 }); // 25 + 10 × 0.1
    expect(usage.usd).toBeCloseTo((25 * 3 + 12 * 15 + 10 * 0.3) / 1e6, 9);
  });

  it('injects the real key and never forwards the run token', async () => {
    const { client, token } = await sdkFor('agent');
    await client.messages.create({ ...ask, max_tokens: 5 });
    const last = llm.fake.received.at(-1);
    expect(last?.headers['x-api-key']).toBe(REAL_KEY);
    expect(JSON.stringify(last?.headers)).not.toContain(token);
    expect(last?.headers.authorization).toBeUndefined();
  });

  it('streams chunk by chunk, before the response ends', async () => {
    llm.fake.delayMs = 40;
    const { client, runId } = await sdkFor('agent');
    const stream = client.messages.stream({ ...ask, max_tokens: 20 });
    const arrivals: number[] = [];
    stream.on('text', () => arrivals.push(Date.now()));
    const final = await stream.finalMessage();
    llm.fake.delayMs = 5;
    expect(final.content[0]).toMatchObject({ text: 'Hello from the fake API.' });
    // Six text deltas; the scrubber may hold a word that could still start a token (a prefix of
    // `API-…`, the head of `…Q~…`) until the next delta, so two can arrive as one.
    expect(arrivals.length).toBeGreaterThanOrEqual(5);
    expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThan(150);
    // message_delta usage is cumulative: 12 output tokens, not 2+4+…+12+12.
    expect((await llm.gw.gateway.store.tokens.usage(runId)).output).toBe(12);
  });

  it('clamps max_tokens to what is left of the output budget', async () => {
    const { client, runId } = await sdkFor('agent');
    await client.messages.create({ ...ask, max_tokens: 30 }); // 12 used → 28 left
    await client.messages.create({ ...ask, max_tokens: 30 });
    expect(llm.fake.received.at(-1)?.body.max_tokens).toBe(28);
    expect((await llm.gw.gateway.store.tokens.usage(runId)).output).toBeLessThanOrEqual(40);
  });

  it('refuses, in the API error shape and not as an authentication failure, once the output budget is spent', async () => {
    const { client, runId } = await sdkFor('tight');
    await client.messages.create({ ...ask, max_tokens: 4 });
    await client.messages.create({ ...ask, max_tokens: 4 }); // clamped to the 1 token left
    // The output budget is spent: the run ends as exhausted, as with the tool-call cap.
    expect((await llm.gw.gateway.runs.get(runId))?.state).toBe('exhausted');
    const error = await client.messages.create({ ...ask, max_tokens: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.PaymentRequiredError);
    expect(String((error as Error).message)).toContain('output token budget used');
  });

  it('refuses a request whose input alone would overrun the budget, before sending it', async () => {
    const { client } = await sdkFor('tiny-input');
    const before = sent();
    const error = await client.messages
      .create({ ...ask, messages: [{ role: 'user', content: 'x'.repeat(500) }], max_tokens: 5 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.PaymentRequiredError);
    expect(sent()).toBe(before);
  });

  it('refuses a request whose estimated price would overrun the spend budget, before sending it', async () => {
    const { client } = await sdkFor('broke');
    const before = sent();
    const error = await client.messages.create({ ...ask, max_tokens: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.PaymentRequiredError);
    expect(String(error)).toContain('spend (USD) budget would be exceeded');
    expect(sent()).toBe(before);
  });

  it('refuses a model the profile does not allow, and records the refusal', async () => {
    const { client, runId } = await sdkFor('agent');
    const error = await client.messages
      .create({ ...ask, model: 'claude-other', max_tokens: 5 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const [event] = await llm.gw.gateway.store.events.list({ runId, kind: 'llm.request' });
    expect(event).toMatchObject({ decision: 'deny', code: 'model_not_allowed' });
  });

  it('refuses a wrong key with an authentication error', async () => {
    const client = new Anthropic({ apiKey: 'bhr_wrong', baseURL: llm.gw.gateway.url, maxRetries: 0 });
    expect(await client.messages.create({ ...ask, max_tokens: 5 }).catch((e: unknown) => e)).toBeInstanceOf(
      Anthropic.AuthenticationError,
    );
  });

  it('cuts a stream when the run is killed and still charges what was sent', async () => {
    llm.fake.delayMs = 100;
    const { client, runId } = await sdkFor('agent');
    const stream = client.messages.stream({ ...ask, max_tokens: 20 });
    let texts = 0;
    stream.on('text', () => {
      texts++;
      if (texts === 2) void llm.gw.gateway.runs.end(runId, 'killed', 'test');
    });
    await stream.finalMessage().catch(() => undefined);
    llm.fake.delayMs = 5;
    expect(texts).toBeLessThan(6);
    let usage = await llm.gw.gateway.store.tokens.usage(runId);
    for (let i = 0; i < 50 && usage.requests === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      usage = await llm.gw.gateway.store.tokens.usage(runId);
    }
    expect(usage.requests).toBe(1);
    expect(usage.output).toBeGreaterThan(0);
    expect(usage.input).toBe(26);
  });

  it('passes count_tokens through without charging', async () => {
    const { client, runId } = await sdkFor('agent');
    const counted = await client.messages.countTokens({ model: 'claude-test', messages: ask.messages });
    expect(counted.input_tokens).toBe(42);
    expect((await llm.gw.gateway.store.tokens.usage(runId)).requests).toBe(0);
  });
});
