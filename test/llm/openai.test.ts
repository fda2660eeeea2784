/**
 * The OpenAI Chat Completions front door, with the real `openai` SDK as the
 * agent against the fake's OpenAI-compatible endpoint: same run token, real
 * key injected as the bearer, usage charged (from the stream's last chunk,
 * asked for by bulkhead), max_tokens clamped, the model allow-list, side
 * doors refused naming the field, streamed content and tool arguments
 * scrubbed across chunks, and /v1/models answering with the profile's models.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { PRICES, REAL_KEY, useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    llm: { models: [claude-test] }
    budgets: { tokens: { output: 10000 } }
  tight:
    budgets: { tokens: { output: 8 } }
`;
const llm = useLlmGateway(PROFILES, PRICES);

async function client(profile = 'agent'): Promise<{ sdk: OpenAI; runId: string; token: string }> {
  const { run, token } = await llm.gw.gateway.runs.create(profile);
  return {
    sdk: new OpenAI({ apiKey: token, baseURL: `${llm.gw.gateway.url}/v1`, maxRetries: 0 }),
    runId: run.id,
    token,
  };
}

const ask = { model: 'claude-test', messages: [{ role: 'user' as const, content: 'hi' }] };
const completions = () => llm.fake.received.filter((r) => r.path === '/v1/chat/completions');

afterEach(() => {
  llm.fake.script = undefined;
  llm.fake.reflect = false;
});

describe('OpenAI front door', () => {
  it('answers a plain completion, charges its usage and injects the real key as the bearer', async () => {
    const { sdk, runId, token } = await client();
    const answer = await sdk.chat.completions.create({ ...ask, max_completion_tokens: 50 });
    expect(answer.choices[0]?.message.content).toBe('Hello from the fake API.');
    const last = completions().at(-1);
    expect(last?.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    expect(JSON.stringify(last?.headers)).not.toContain(token);
    expect(await llm.gw.gateway.store.tokens.usage(runId)).toMatchObject({
      input: 25,
      output: 6,
      requests: 1,
    });
  });

  it('streams, asks for usage on the agent’s behalf and charges it once', async () => {
    const { sdk, runId } = await client();
    const stream = await sdk.chat.completions.create({ ...ask, max_tokens: 50, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello from the fake API.');
    expect(completions().at(-1)?.body.stream_options).toMatchObject({ include_usage: true });
    expect(await llm.gw.gateway.store.tokens.usage(runId)).toMatchObject({ output: 6, requests: 1 });
  });

  it('scrubs a secret split across streamed content chunks and tool-call argument chunks', async () => {
    const full = `key ${REAL_KEY} done`;
    const args = JSON.stringify({ token: REAL_KEY });
    const third = Math.ceil(full.length / 3);
    llm.fake.script = [
      { type: 'text', chunks: [full.slice(0, third), full.slice(third, 2 * third), full.slice(2 * third)] },
      { type: 'tool_use', name: 'run', chunks: [args.slice(0, 15), args.slice(15, 30), args.slice(30)] },
    ];
    const { sdk } = await client();
    const stream = sdk.chat.completions.stream({ ...ask, max_tokens: 50 });
    const final = await stream.finalChatCompletion();
    const message = final.choices[0]?.message;
    expect(message?.content).toBe(llm.gw.gateway.scrubber.text(full));
    expect(
      JSON.parse(
        message?.tool_calls?.[0]?.type === 'function' ? message.tool_calls[0].function.arguments : '{}',
      ),
    ).toEqual({
      token: '[REDACTED:secret]',
    });
    expect(JSON.stringify(final)).not.toContain(REAL_KEY.slice(8, 20));
  });

  it('scrubs a plain answer echoing the headers it received', async () => {
    llm.fake.reflect = true;
    const { sdk } = await client();
    const answer = await sdk.chat.completions.create({ ...ask, max_tokens: 50 }).withResponse();
    expect(JSON.stringify(answer.data)).toContain('received_headers');
    expect(JSON.stringify(answer.data)).not.toContain(REAL_KEY.slice(8, 20));
  });

  it('clamps max_completion_tokens to the output budget and refuses once it is spent, as billing', async () => {
    const { sdk, runId } = await client('tight');
    await sdk.chat.completions.create({ ...ask, max_completion_tokens: 100 });
    expect(completions().at(-1)?.body.max_completion_tokens).toBe(8);
    await sdk.chat.completions.create({ ...ask, max_completion_tokens: 100 });
    const error = await sdk.chat.completions.create({ ...ask }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((await llm.gw.gateway.store.tokens.usage(runId)).output).toBeLessThanOrEqual(8);
  });

  it('refuses a model the profile does not allow', async () => {
    const { sdk } = await client();
    const error = await sdk.chat.completions.create({ ...ask, model: 'gpt-other' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  for (const [name, extra, field] of [
    ['web search options', { web_search_options: {} }, 'web_search_options'],
    ['a non-function tool', { tools: [{ type: 'web_search_preview' }] }, 'tools[0].type'],
    [
      'an image fetched by URL',
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://evil.test/?d=x' } }] },
        ],
      },
      'messages[0].content[0].image_url',
    ],
    ['an unknown field', { prediction: { type: 'content', content: 'x' } }, 'prediction'],
  ] as const) {
    it(`refuses ${name}, naming ${field}, before sending it`, async () => {
      const { sdk } = await client();
      const before = completions().length;
      const error = await sdk.chat.completions
        .create({ ...ask, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(String((error as Error).message)).toContain(field);
      expect(completions().length).toBe(before);
    });
  }

  it('lists the profile’s models on /v1/models, for both SDKs', async () => {
    const { sdk, token } = await client();
    const models = [];
    for await (const m of sdk.models.list()) models.push(m.id);
    expect(models).toEqual(['claude-test']);
    const anthropic = new Anthropic({ apiKey: token, baseURL: llm.gw.gateway.url, maxRetries: 0 });
    const listed = [];
    for await (const m of anthropic.models.list()) listed.push(m.id);
    expect(listed).toEqual(['claude-test']);
  });
});
