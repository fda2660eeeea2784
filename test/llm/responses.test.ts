/**
 * The OpenAI Responses API front door (`/v1/responses`, what Codex speaks),
 * with the real `openai` SDK as the agent against the fake Responses API:
 * the run token stands in for the key, the real key is injected as the
 * bearer, the model allow-list, the reservation (input from `instructions`
 * and `input`, function call outputs and images included; max_output_tokens
 * clamped), settlement from `response.completed`'s usage, scrubbing of every
 * streamed event and of JSON answers, the API's state and server tools as
 * side doors, and the kill switch ending a stream. Attacks first.
 */
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { PRICES, REAL_KEY, useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    llm: { models: [claude-test] }
    budgets: { tokens: { output: 100000 } }
  tight:
    budgets: { tokens: { output: 8 } }
  small:
    budgets: { tokens: { input: 2000 } }
  stateful:
    llm: { body_fields: [previous_response_id, store, background] }
  doors:
    llm: { server_tools: [web_search], mcp_servers: ['https://mcp.example.test/sse'] }
`;
const llm = useLlmGateway(PROFILES, PRICES);

async function client(profile = 'agent') {
  const { run, token } = await llm.gw.gateway.runs.create(profile);
  return {
    sdk: new OpenAI({ apiKey: token, baseURL: `${llm.gw.gateway.url}/v1`, maxRetries: 0 }),
    runId: run.id,
    token,
  };
}

const ask = { model: 'claude-test', input: 'hi' };
const sent = () => llm.fake.responses.received;
const usageOf = (runId: string) => llm.gw.gateway.store.tokens.usage(runId);

async function settled(runId: string, requests = 1) {
  for (let i = 0; i < 200; i++) {
    const usage = await usageOf(runId);
    const [event] = await llm.gw.gateway.store.events.list({ runId, kind: 'llm.request' });
    if (usage.requests >= requests && event) return { usage, event };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the request was never settled');
}

/** The raw SSE events the agent read, parsed. */
async function rawStream(token: string, body: Record<string, unknown>) {
  const res = await fetch(`${llm.gw.gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((e) => e.includes('data: '))
    .map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)) as Record<string, unknown>);
}

afterEach(() => {
  const fake = llm.fake.responses;
  fake.scriptFor = undefined;
  fake.cutBeforeCompleted = false;
  fake.hangAfter = undefined;
  fake.delayMs = 2;
  fake.inputTokens = 25;
  fake.cachedTokens = 10;
});

describe('Responses API front door', () => {
  it('answers a JSON response, injects the real key as the bearer and charges its usage', async () => {
    const { sdk, runId, token } = await client();
    const answer = await sdk.responses.create({ ...ask, max_output_tokens: 50 });
    expect(answer.output_text).toBe('Hello from the fake API.');
    const last = sent().at(-1);
    expect(last?.headers.authorization).toBe(`Bearer ${REAL_KEY}`);
    expect(JSON.stringify(last?.headers)).not.toContain(token);
    // The API would keep the response unless told not to.
    expect(last?.body).toMatchObject({ store: false, max_output_tokens: 50 });
    // 25 input of which 10 cached (weighted 0.1): 15 + 1 = 16 charged; 5 output.
    expect((await settled(runId)).usage).toMatchObject({ input: 16, output: 5, requests: 1 });
  });

  it('streams, charges the usage of response.completed once and records the request', async () => {
    llm.fake.responses.reasoningTokens = 7;
    try {
      const { sdk, runId } = await client();
      const stream = sdk.responses.stream({ ...ask });
      let text = '';
      stream.on('response.output_text.delta', (e) => {
        text += e.delta;
      });
      const final = await stream.finalResponse();
      expect(text).toBe('Hello from the fake API.');
      expect(final.usage?.output_tokens).toBe(12);
      const { usage, event } = await settled(runId);
      // Reasoning tokens are output tokens.
      expect(usage).toMatchObject({ input: 16, output: 12, requests: 1 });
      expect(event).toMatchObject({ decision: 'allow', code: null });
    } finally {
      llm.fake.responses.reasoningTokens = 0;
    }
  });

  it('scrubs a secret split across output_text deltas, argument deltas and the events that repeat them', async () => {
    const full = `key ${REAL_KEY} done`;
    const args = JSON.stringify({ token: REAL_KEY });
    const third = Math.ceil(full.length / 3);
    llm.fake.responses.scriptFor = () => [
      {
        type: 'message',
        chunks: [full.slice(0, third), full.slice(third, 2 * third), full.slice(2 * third)],
      },
      { type: 'function_call', name: 'run', chunks: [args.slice(0, 15), args.slice(15, 30), args.slice(30)] },
    ];
    const { token } = await client();
    const events = await rawStream(token, ask);
    const streamed = (type: string) =>
      events
        .filter((e) => e.type === type)
        .map((e) => e.delta)
        .join('');
    const scrub = llm.gw.gateway.scrubber;
    expect(streamed('response.output_text.delta')).toBe(scrub.text(full));
    expect(JSON.parse(streamed('response.function_call_arguments.delta'))).toEqual({
      token: '[REDACTED:secret]',
    });
    expect(events.at(-1)?.type).toBe('response.completed');
    const wire = JSON.stringify(events);
    for (const piece of [REAL_KEY, REAL_KEY.slice(8, 20), REAL_KEY.slice(-12)])
      expect(wire).not.toContain(piece);
  });

  it('scrubs a JSON answer', async () => {
    llm.fake.responses.scriptFor = () => [{ type: 'message', chunks: [`the key is ${REAL_KEY}`] }];
    const { sdk } = await client();
    const answer = await sdk.responses.create({ ...ask });
    expect(JSON.stringify(answer)).not.toContain(REAL_KEY.slice(8, 20));
    expect(answer.output_text).toContain('[REDACTED');
  });

  it('refuses a huge input that would overrun the input budget, unsent, as billing', async () => {
    const { sdk, runId } = await client('small');
    const before = sent().length;
    const huge = 'x'.repeat(5000);
    for (const input of [
      huge,
      [{ role: 'user' as const, content: huge }],
      // The bulk in a function call's output, which the agent sends back as input.
      [
        { type: 'function_call' as const, call_id: 'c1', name: 'read', arguments: '{}' },
        { type: 'function_call_output' as const, call_id: 'c1', output: huge },
      ],
    ]) {
      const error = await sdk.responses.create({ model: 'claude-test', input }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    }
    // So does a prompt hidden in the instructions.
    const viaInstructions = await sdk.responses
      .create({ ...ask, instructions: huge })
      .catch((e: unknown) => e);
    expect((viaInstructions as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect(sent().length).toBe(before);
    expect((await usageOf(runId)).input).toBe(0);
  });

  it('counts an image at its ceiling however few bytes it has', async () => {
    const { sdk } = await client('small');
    const image = {
      type: 'input_image' as const,
      detail: 'high' as const,
      image_url: 'data:image/png;base64,AAAA',
    };
    const error = await sdk.responses
      .create({ model: 'claude-test', input: [{ role: 'user', content: [image] }] })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
  });

  it('clamps max_output_tokens to what the output budget has left, and sends it when the agent did not', async () => {
    const { sdk } = await client('tight');
    await sdk.responses.create({ ...ask, max_output_tokens: 100 });
    expect(sent().at(-1)?.body.max_output_tokens).toBe(8);
    const other = await client('agent');
    await other.sdk.responses.create({ ...ask });
    expect(sent().at(-1)?.body.max_output_tokens).toBe(32_768);
  });

  it('charges a stream cut before response.completed for its reserved input and the output it showed', async () => {
    llm.fake.responses.cutBeforeCompleted = true;
    llm.fake.responses.scriptFor = () => [{ type: 'message', chunks: ['y'.repeat(300)] }];
    const { sdk, runId } = await client();
    const input = 'z'.repeat(3000);
    const error = await sdk.responses
      .stream({ model: 'claude-test', input })
      .finalResponse()
      .catch((e: unknown) => e);
    // The stream's end, in the API's own error event shape, is what the SDK raises.
    expect(error).toMatchObject({ type: 'error', code: 'api_error' });
    const { usage, event } = await settled(runId);
    // The usage was never reported: the input is charged as reserved (at least its bytes),
    // the output as seen (300 characters, 100 tokens), not the 0 the stream reported.
    expect(usage.input).toBeGreaterThanOrEqual(3000);
    expect(usage.output).toBeGreaterThanOrEqual(100);
    expect(event?.code).toBe('upstream_error');
  });

  it('refuses a model the profile does not allow, in the API’s error shape', async () => {
    const { sdk } = await client();
    const error = await sdk.responses.create({ ...ask, model: 'gpt-other' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const err = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(err.message).toContain('not allowed');
    expect(err.code).toBe('permission_error');
  });

  it('ends a stream cut by a kill with an error event the SDK raises, and charges it', async () => {
    llm.fake.responses.hangAfter = 2;
    const { sdk, runId } = await client();
    const stream = sdk.responses.stream({ ...ask });
    let deltas = 0;
    stream.on('response.output_text.delta', () => {
      if (++deltas === 1) void llm.gw.gateway.runs.end(runId, 'killed', 'test');
    });
    const error = await stream.finalResponse().catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'error', code: 'permission_error' });
    expect((error as { message: string }).message).toContain('this run has ended');
    const { usage, event } = await settled(runId);
    expect(event?.code).toBe('cut');
    expect(usage.input).toBeGreaterThan(0);
  });

  describe('state the API would keep', () => {
    it('refuses store: true and previous_response_id unless the profile lists them', async () => {
      const { sdk } = await client();
      const before = sent().length;
      for (const [extra, field] of [
        [{ store: true }, 'store'],
        [{ previous_response_id: 'resp_1' }, 'previous_response_id'],
        [{ conversation: 'conv_1' }, 'conversation'],
        [{ prompt: { id: 'pmpt_1' } }, 'prompt'],
      ] as const) {
        const error = await sdk.responses
          .create({ ...ask, ...extra } as OpenAI.Responses.ResponseCreateParamsNonStreaming)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect(String((error as Error).message)).toContain(field);
      }
      expect(sent().length).toBe(before);
    });

    it('counts a request that continues a stored response when the profile allows it', async () => {
      const { sdk, runId } = await client('stateful');
      await sdk.responses.create({ ...ask, previous_response_id: 'resp_1', store: true });
      expect(sent().at(-1)?.body).toMatchObject({ previous_response_id: 'resp_1', store: true });
      expect((await settled(runId)).usage).toMatchObject({ input: 16, requests: 1 });
    });

    it('refuses background: true even when the profile lists it: it could not be counted', async () => {
      const { sdk } = await client('stateful');
      const before = sent().length;
      const error = await sdk.responses.create({ ...ask, background: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(String((error as Error).message)).toContain('background');
      expect(sent().length).toBe(before);
    });
  });

  describe('server tools and fetched content (the API fetching for the agent)', () => {
    for (const [name, extra, field] of [
      ['web_search', { tools: [{ type: 'web_search' }] }, 'tools[0].type'],
      ['web_search_preview', { tools: [{ type: 'web_search_preview' }] }, 'tools[0].type'],
      [
        'code_interpreter',
        { tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] },
        'tools[0].type',
      ],
      ['file_search', { tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] }, 'tools[0].type'],
      ['image_generation', { tools: [{ type: 'image_generation' }] }, 'tools[0].type'],
      [
        'an MCP connector server',
        {
          tools: [
            {
              type: 'mcp',
              server_label: 'x',
              server_url: 'https://evil.test/mcp',
              require_approval: 'never',
            },
          ],
        },
        'tools[0].server_url',
      ],
      [
        'an OpenAI connector',
        { tools: [{ type: 'mcp', server_label: 'x', connector_id: 'connector_gmail' }] },
        'tools[0].server_url',
      ],
      [
        'a server tool inside a namespace',
        {
          tools: [
            {
              type: 'namespace',
              name: 'n',
              tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }],
            },
          ],
        },
        'tools[0].tools[1].type',
      ],
      [
        'an image fetched by URL',
        {
          input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://evil.test/?d=x' }] }],
        },
        'input[0].content[0].image_url',
      ],
      [
        'a file stored in the account',
        { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] },
        'input[0].content[0].file_id',
      ],
      ['an unknown field', { future_door: { url: 'https://evil.test' } }, 'future_door'],
    ] as const) {
      it(`refuses ${name}, naming ${field}, before sending it`, async () => {
        const { sdk } = await client();
        const before = sent().length;
        const error = await sdk.responses
          .create({ ...ask, ...extra } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect(String((error as Error).message)).toContain(field);
        expect(sent().length).toBe(before);
      });
    }

    it('lets the client’s own tools through', async () => {
      const { sdk } = await client();
      await sdk.responses.create({
        ...ask,
        tools: [
          { type: 'function', name: 'f', parameters: { type: 'object', properties: {} }, strict: false },
          { type: 'custom', name: 'apply_patch' },
          { type: 'local_shell' },
        ],
      } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming);
      expect(sent().at(-1)?.body.tools).toHaveLength(3);
    });

    it('lets through the server tools and MCP servers a profile opens, tainting the run', async () => {
      const { sdk, runId } = await client('doors');
      await sdk.responses.create({
        ...ask,
        tools: [
          { type: 'web_search' },
          {
            type: 'mcp',
            server_label: 'ok',
            server_url: 'https://mcp.example.test/sse',
            require_approval: 'never',
          },
        ],
      });
      expect(sent().at(-1)?.body.tools).toHaveLength(2);
      const run = await llm.gw.gateway.runs.get(runId);
      expect(JSON.stringify(run)).toContain('llm:tools[0].type');
    });
  });
});
