/**
 * What a server tool fetches is input the prompt estimate never saw: a Messages `web_fetch` of a
 * huge page, or searches each returning pages of results, are appended to the conversation and
 * read again by every later sampling. Reserved at the prompt alone, concurrent requests each
 * passed a token or USD cap the fetched pages then took the run far past. Each allowed use must
 * be reserved at the most its result can add (`max_content_tokens` for a fetch, set when absent;
 * a stated ceiling per search), times the samplings that read it. Raw HTTP against a fake
 * provider that reports the big usage a real fetch would.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { messageAnswer, sseEvent } from '../helpers/llm-harness.js';
import { chatCompletion, postWithToken, responsesAnswer, useScriptedGateway } from './scripted-api.js';

const PROFILES = `
  reader:
    llm: { server_tools: [web_fetch, web_search] }
    budgets: { tokens: { input: 150000 } }
  payer:
    llm: { server_tools: [web_fetch] }
    budgets: { usd: 0.5 }
  searcher:
    llm: { server_tools: [web_search] }
    budgets: { tokens: { input: 100000 } }
  chat-searcher:
    llm: { server_tools: [web_search] }
    budgets: { tokens: { input: 30000 } }
`;
const scripted = useScriptedGateway(PROFILES);

/** Requests sent to the Messages endpoint (not counts of their tokens). */
const messages = () => scripted.api.received.filter((r) => r.path === '/v1/messages').length;
const json = (res: ServerResponse, value: unknown) =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));

/** An answer after `ms`, reporting `input` tokens read (the fetched content with the prompt). */
function answerSlowly(input: number, extra: Record<string, unknown> = {}, ms = 150) {
  scripted.api.answer = async (res) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    json(res, { ...messageAnswer('read'), usage: { input_tokens: input, output_tokens: 10, ...extra } });
  };
}

const fetchTool = (extra: Record<string, unknown> = {}) => ({
  type: 'web_fetch_20250910',
  name: 'web_fetch',
  max_uses: 1,
  ...extra,
});
const searchTool = (max_uses: number) => ({ type: 'web_search_20250305', name: 'web_search', max_uses });
const ask = (tool: Record<string, unknown>) => ({
  model: 'claude-test',
  max_tokens: 50,
  messages: [{ role: 'user', content: 'read https://example.test/big' }],
  tools: [tool],
});

async function concurrently(profile: string, body: Record<string, unknown>, path = '/v1/messages') {
  const { run, token } = await scripted.gw.gateway.runs.create(profile);
  const statuses = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const res = await postWithToken(scripted.gw.gateway.url, path, token, body);
      await res.text();
      return res.status;
    }),
  );
  return { statuses, usage: await scripted.gw.gateway.store.tokens.usage(run.id) };
}

describe('fetched content reserved before the request', () => {
  it('keeps concurrent web fetches of a huge page inside the input token cap', async () => {
    answerSlowly(50_010, { server_tool_use: { web_fetch_requests: 1 } });
    const { statuses, usage } = await concurrently('reader', ask(fetchTool({ max_content_tokens: 50_000 })));
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(150_000);
  });

  it('keeps concurrent web fetches of a huge page inside the USD cap', async () => {
    // 100,000 tokens at $3 per million: $0.30 a request, under a $0.50 cap.
    answerSlowly(100_010, { server_tool_use: { web_fetch_requests: 1 } });
    const { statuses, usage } = await concurrently('payer', ask(fetchTool({ max_content_tokens: 100_000 })));
    expect(statuses).toContain(200);
    expect(usage.usd).toBeLessThanOrEqual(0.5);
  });

  it('keeps concurrent searches, each sampling reading the results before it, inside the input cap', async () => {
    // Two searches of 10,000 tokens each: the second sampling reads one, the third both.
    answerSlowly(30_020, { server_tool_use: { web_search_requests: 2 } });
    const { statuses, usage } = await concurrently('searcher', ask(searchTool(2)));
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(100_000);
  });

  it('keeps concurrent streamed web fetches of a huge page inside the input token cap', async () => {
    scripted.api.answer = async (res) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const usage = { input_tokens: 50_010, output_tokens: 1 };
      res.write(
        sseEvent('message_start', { type: 'message_start', message: { ...messageAnswer(''), usage } }),
      );
      res.write(
        sseEvent('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn' },
          usage: { output_tokens: 10, server_tool_use: { web_fetch_requests: 1 } },
        }),
      );
      res.end(sseEvent('message_stop', { type: 'message_stop' }));
    };
    const body = { ...ask(fetchTool({ max_content_tokens: 50_000 })), stream: true };
    const { statuses, usage } = await concurrently('reader', body);
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(150_000);
  });

  it('sends a web fetch without max_content_tokens bounded, under a cap', async () => {
    answerSlowly(100, {}, 0);
    const { token } = await scripted.gw.gateway.runs.create('reader');
    const res = await postWithToken(scripted.gw.gateway.url, '/v1/messages', token, ask(fetchTool()));
    expect(res.status).toBe(200);
    const sent = scripted.api.received.at(-1)?.body.tools as Array<{ max_content_tokens?: unknown }>;
    expect(sent[0]?.max_content_tokens).toBeTypeOf('number');
  });

  for (const max_content_tokens of [0, -5, 1.5, '50000', 1e300])
    it(`refuses, unsent, a max_content_tokens of ${JSON.stringify(max_content_tokens)}`, async () => {
      const { token } = await scripted.gw.gateway.runs.create('reader');
      const before = messages();
      const body = ask(fetchTool({ max_content_tokens }));
      const res = await postWithToken(scripted.gw.gateway.url, '/v1/messages', token, body);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('max_content_tokens');
      expect(messages()).toBe(before);
    });

  it('refuses, unsent, a fetch the cap cannot hold, saying which bound to lower', async () => {
    const { token } = await scripted.gw.gateway.runs.create('reader');
    const before = messages();
    const body = ask(fetchTool({ max_content_tokens: 500_000 }));
    const res = await postWithToken(scripted.gw.gateway.url, '/v1/messages', token, body);
    expect(res.status).toBe(402);
    expect(await res.text()).toContain('max_content_tokens');
    expect(messages()).toBe(before);
  });
});

describe('search results on the OpenAI APIs', () => {
  const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('keeps concurrent Responses searches inside the input cap', async () => {
    scripted.api.answer = async (res) => {
      await later(150);
      json(res, responsesAnswer('web_search_call', 2, { input_tokens: 30_020, output_tokens: 10 }));
    };
    const body = {
      model: 'claude-test',
      max_output_tokens: 50,
      max_tool_calls: 2,
      input: 'search the news',
      tools: [{ type: 'web_search' }],
    };
    const { statuses, usage } = await concurrently('searcher', body, '/v1/responses');
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(100_000);
  });

  it('keeps concurrent Chat Completions searches inside the input cap', async () => {
    scripted.api.answer = async (res) => {
      await later(150);
      json(res, chatCompletion({ prompt_tokens: 10_020, completion_tokens: 10 }));
    };
    const body = {
      model: 'claude-test',
      max_tokens: 50,
      web_search_options: {},
      messages: [{ role: 'user', content: 'search the news' }],
    };
    const { statuses, usage } = await concurrently('chat-searcher', body, '/v1/chat/completions');
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(30_000);
  });
});
