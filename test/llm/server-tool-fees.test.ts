/**
 * Server tools bill per use on top of tokens (web search $10 per 1,000 searches on both APIs,
 * file search per call on the Responses API): a run under a USD cap must pay for them from its
 * budget, reserved before the call at the most the request allows and settled from what the
 * answer reports, plain or streamed, cut or whole. Tried with raw HTTP against a fake provider
 * that answers exactly what each attack needs.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { messageAnswer, settledLlmEvent, sseEvent } from '../helpers/llm-harness.js';
import { chatCompletion, postWithToken, useScriptedGateway } from './scripted-api.js';

const PROFILES = `
  searcher:
    llm: { server_tools: [web_search, file_search, web_search_preview, web_search_2025_08_26] }
    budgets: { usd: 0.25 }
  small:
    llm: { server_tools: [web_search] }
    budgets: { usd: 0.05 }
  maker:
    llm: { server_tools: [image_generation, code_interpreter] }
    budgets: { usd: 1 }
  closed:
    budgets: { tokens: { output: 1000 } }
`;
/** The default price of one web search: $10 per 1,000. */
const SEARCH = 0.01;

const scripted = useScriptedGateway(
  PROFILES,
  // Input this cheap so that the fees, not the search results every sampling reads (reserved as
  // input: fetched-content.test.ts), decide what these caps hold.
  '  prices:\n    claude-test: { input: 0.03, output: 15 }\n    gpt-4o-mini-search-preview: { input: 0.15, output: 0.6 }',
);

async function run(profile = 'searcher'): Promise<{ token: string; runId: string }> {
  const { run, token } = await scripted.gw.gateway.runs.create(profile);
  return { token, runId: run.id };
}

const messages = () => scripted.api.received.filter((r) => r.path === '/v1/messages');
const spent = async (runId: string) => (await scripted.gw.gateway.store.tokens.usage(runId)).usd;

const post = (path: string, token: string, body: Record<string, unknown>) =>
  postWithToken(scripted.gw.gateway.url, path, token, body);

const search = (max_uses?: number) => ({
  type: 'web_search_20250305',
  name: 'web_search',
  ...(max_uses === undefined ? {} : { max_uses }),
});
const ask = (tool: Record<string, unknown>, stream = false) => ({
  model: 'claude-test',
  max_tokens: 100,
  stream,
  messages: [{ role: 'user', content: 'search the news' }],
  tools: [tool],
});
/** A Messages answer reporting `usage` as given. */
const message = (usage: Record<string, unknown>) => ({ ...messageAnswer('found'), usage });
const json = (res: ServerResponse, value: unknown) =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
const searches = (n: number) => ({ server_tool_use: { web_search_requests: n } });

/** A Messages stream whose `message_delta` events carry `deltas` as usage, in order. */
function messageStream(res: ServerResponse, deltas: Array<Record<string, unknown>>) {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(
    sseEvent('message_start', {
      type: 'message_start',
      message: message({ input_tokens: 10, output_tokens: 1 }),
    }),
  );
  res.write(
    sseEvent('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
  );
  res.write(
    sseEvent('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: 'found' },
    }),
  );
  res.write(sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }));
  for (const usage of deltas)
    res.write(
      sseEvent('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage }),
    );
  res.end(sseEvent('message_stop', { type: 'message_stop' }));
}

describe('Messages web search fees', () => {
  it('charges the searches a plain answer reports to the USD budget', async () => {
    scripted.api.answer = (res) =>
      json(res, message({ input_tokens: 10, output_tokens: 10, ...searches(3) }));
    const { token, runId } = await run();
    expect((await post('/v1/messages', token, ask(search(3)))).status).toBe(200);
    expect(await spent(runId)).toBeGreaterThanOrEqual(3 * SEARCH);
  });

  it('sends a web search tool without max_uses bounded, under a USD cap', async () => {
    scripted.api.answer = (res) => json(res, message({ input_tokens: 10, output_tokens: 10 }));
    const { token } = await run();
    expect((await post('/v1/messages', token, ask(search()))).status).toBe(200);
    const sent = scripted.api.received.at(-1)?.body.tools as Array<{ max_uses?: unknown }>;
    expect(sent[0]?.max_uses).toBeTypeOf('number');
    expect(Number(sent[0]?.max_uses) * SEARCH).toBeLessThanOrEqual(0.25);
  });

  it('refuses, unsent, a max_uses the USD cap cannot pay for, saying what to lower', async () => {
    const { token } = await run();
    const before = messages().length;
    const res = await post('/v1/messages', token, ask(search(1_000_000)));
    expect(res.status).toBe(402);
    expect(await res.text()).toContain('lower tools[0].max_uses');
    expect(messages().length).toBe(before);
  });

  it('refuses, unsent, a search without max_uses when the cap cannot pay the bound it would get', async () => {
    const { token } = await run('small');
    const before = messages().length;
    const res = await post('/v1/messages', token, ask(search()));
    expect(res.status).toBe(402);
    expect(await res.text()).toContain('set tools[0].max_uses below 10');
    expect(messages().length).toBe(before);
  });

  for (const max_uses of [2.5, -1, '5', 1e21])
    it(`refuses, unsent, a max_uses of ${JSON.stringify(max_uses)} the budget cannot read as the API would`, async () => {
      const { token } = await run();
      const before = messages().length;
      const res = await post('/v1/messages', token, ask({ ...search(), max_uses }));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('tools[0].max_uses must be a positive integer');
      expect(messages().length).toBe(before);
    });

  it('charges searches reported only in a stream’s final usage', async () => {
    scripted.api.answer = (res) => messageStream(res, [{ output_tokens: 5, ...searches(3) }]);
    const { token, runId } = await run();
    await (await post('/v1/messages', token, ask(search(3), true))).text();
    await settledLlmEvent(scripted.gw, runId);
    expect(await spent(runId)).toBeGreaterThanOrEqual(3 * SEARCH);
  });

  it('charges a cumulative search count reported twice in a stream once', async () => {
    scripted.api.answer = (res) =>
      messageStream(res, [
        { output_tokens: 3, ...searches(3) },
        { output_tokens: 5, ...searches(3) },
      ]);
    const { token, runId } = await run();
    await (await post('/v1/messages', token, ask(search(4), true))).text();
    await settledLlmEvent(scripted.gw, runId);
    const usd = await spent(runId);
    expect(usd).toBeGreaterThanOrEqual(3 * SEARCH);
    expect(usd).toBeLessThan(4 * SEARCH);
  });

  it('charges a stream cut before its usage every search it could have made', async () => {
    scripted.api.answer = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        sseEvent('message_start', {
          type: 'message_start',
          message: message({ input_tokens: 10, output_tokens: 1 }),
        }),
      );
      setTimeout(() => res.destroy(), 20);
    };
    const { token, runId } = await run();
    await (await post('/v1/messages', token, ask(search(4), true))).text().catch(() => '');
    await settledLlmEvent(scripted.gw, runId);
    expect(await spent(runId)).toBeGreaterThanOrEqual(4 * SEARCH);
  });

  it('keeps concurrent searching requests together inside the USD cap', async () => {
    scripted.api.answer = async (res) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      json(res, message({ input_tokens: 10, output_tokens: 10, ...searches(5) }));
    };
    const { token, runId } = await run();
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await post('/v1/messages', token, ask(search(5)));
        await res.text();
        return res.status;
      }),
    );
    const answered = statuses.filter((s) => s === 200).length;
    // Each answered request searched five times: the ledger holds all of it, and the cap holds.
    expect(await spent(runId)).toBeGreaterThanOrEqual(answered * 5 * SEARCH);
    expect(await spent(runId)).toBeLessThanOrEqual(0.25);
    expect(answered).toBeGreaterThanOrEqual(1);
  });
});

/** A plain Chat Completions answer. */
const chatAnswer = (res: ServerResponse) =>
  json(res, chatCompletion({ prompt_tokens: 10, completion_tokens: 10 }));

const responsesAsk = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-test',
  max_output_tokens: 100,
  input: 'search the news',
  tools: [{ type: 'web_search' }],
  ...extra,
});
const searchCall = (i: number) => ({ type: 'web_search_call', id: `ws_${i}`, status: 'completed' });
const response = (calls: number) => ({
  id: 'resp_1',
  object: 'response',
  status: 'completed',
  model: 'claude-test',
  output: [
    ...Array.from({ length: calls }, (_, i) => searchCall(i)),
    { type: 'message', id: 'm1', role: 'assistant', content: [{ type: 'output_text', text: 'found' }] },
  ],
  usage: { input_tokens: 10, output_tokens: 10 },
});

describe('Responses and Chat Completions web search fees', () => {
  it('charges the web_search_call items of a Responses answer', async () => {
    scripted.api.answer = (res) => json(res, response(3));
    const { token, runId } = await run();
    expect((await post('/v1/responses', token, responsesAsk({ max_tool_calls: 3 }))).status).toBe(200);
    expect(await spent(runId)).toBeGreaterThanOrEqual(3 * SEARCH);
  });

  it('sends a Responses request with server tools and no max_tool_calls bounded, under a USD cap', async () => {
    scripted.api.answer = (res) => json(res, response(0));
    const { token } = await run();
    expect((await post('/v1/responses', token, responsesAsk())).status).toBe(200);
    const sent = scripted.api.received.at(-1)?.body;
    expect(sent?.max_tool_calls).toBeTypeOf('number');
    expect(Number(sent?.max_tool_calls) * SEARCH).toBeLessThanOrEqual(0.25);
  });

  for (const type of ['web_search_preview', 'web_search_2025_08_26'])
    it(`reserves a Responses ${type} tool as a web search, bounded`, async () => {
      scripted.api.answer = (res) => json(res, response(0));
      const { token } = await run();
      const res = await post('/v1/responses', token, responsesAsk({ tools: [{ type }] }));
      expect(res.status).toBe(200);
      expect(scripted.api.received.at(-1)?.body.max_tool_calls).toBeTypeOf('number');
    });

  for (const [tool, least] of [
    ['image_generation', 0.25],
    ['code_interpreter', 0.03],
  ] as const)
    it(`charges the ${tool}_call items of a Responses answer`, async () => {
      scripted.api.answer = (res) =>
        json(res, { ...response(0), output: [{ type: `${tool}_call`, id: 'x1', status: 'completed' }] });
      const { token, runId } = await run('maker');
      const res = await post(
        '/v1/responses',
        token,
        responsesAsk({ tools: [{ type: tool }], max_tool_calls: 1 }),
      );
      expect(res.status).toBe(200);
      expect(await spent(runId)).toBeGreaterThanOrEqual(least);
    });

  it('charges the web_search_call items of a streamed Responses answer’s final event', async () => {
    scripted.api.answer = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        sseEvent('response.completed', {
          type: 'response.completed',
          sequence_number: 1,
          response: response(2),
        }),
      );
    };
    const { token, runId } = await run();
    await (await post('/v1/responses', token, responsesAsk({ max_tool_calls: 2, stream: true }))).text();
    await settledLlmEvent(scripted.gw, runId);
    expect(await spent(runId)).toBeGreaterThanOrEqual(2 * SEARCH);
  });

  it('charges a Chat Completions request with web_search_options one search', async () => {
    scripted.api.answer = chatAnswer;
    const { token, runId } = await run();
    const res = await post('/v1/chat/completions', token, {
      model: 'claude-test',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'search the news' }],
      web_search_options: {},
    });
    expect(res.status).toBe(200);
    expect(await spent(runId)).toBeGreaterThanOrEqual(SEARCH);
  });
});

describe('Chat Completions search models', () => {
  const searchModel = (model: string) => ({
    model,
    max_tokens: 100,
    messages: [{ role: 'user', content: 'search the news' }],
  });

  it('refuses a search model, which searches without web_search_options, where web_search is not allowed', async () => {
    scripted.api.answer = chatAnswer;
    const { token } = await run('closed');
    const before = scripted.api.received.length;
    const res = await post('/v1/chat/completions', token, searchModel('gpt-4o-search-preview'));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('web_search');
    expect(scripted.api.received.length).toBe(before);
  });

  it('charges a search model one search without web_search_options', async () => {
    scripted.api.answer = chatAnswer;
    const { token, runId } = await run();
    const res = await post('/v1/chat/completions', token, searchModel('gpt-4o-mini-search-preview'));
    expect(res.status).toBe(200);
    expect(await spent(runId)).toBeGreaterThanOrEqual(SEARCH);
  });
});
