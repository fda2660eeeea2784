/**
 * Responses server tools bring in input the prompt never held, read again by every later sampling:
 * a `file_search` returns up to `max_num_results` chunks of a vector store, an `mcp` call its
 * server's result. Only web search results were reserved, and a request whose tools are all
 * unpriced (an `mcp` server) was not counted as sampling more than once nor sent with a bound, so
 * concurrent requests passed an input cap. Raw HTTP against a fake provider that reports the
 * usage such calls are billed.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { postWithToken, responsesAnswer, useScriptedGateway } from './scripted-api.js';

const PROFILES = `
  filer:
    llm: { server_tools: [file_search] }
    budgets: { tokens: { input: 500000 } }
  connector:
    llm: { mcp_servers: ['https://mcp.example.test/sse'] }
    budgets: { tokens: { input: 200000 } }
`;
const scripted = useScriptedGateway(PROFILES);

const sent = () => scripted.api.received.filter((r) => r.path === '/v1/responses');
const json = (res: ServerResponse, value: unknown) =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));

/** A response after 150 ms with `calls` output items of `type`, reporting `input` tokens read. */
function answerSlowly(type: string, calls: number, input: number) {
  scripted.api.answer = async (res) => {
    await new Promise((resolve) => setTimeout(resolve, 150));
    json(res, responsesAnswer(type, calls, { input_tokens: input, output_tokens: 10 }));
  };
}

const ask = (tool: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model: 'claude-test',
  max_output_tokens: 50,
  input: 'look it up',
  tools: [tool],
  ...extra,
});
const fileSearch = (extra: Record<string, unknown> = {}) => ({
  type: 'file_search',
  vector_store_ids: ['vs_1'],
  ...extra,
});
const mcp = { type: 'mcp', server_label: 'm', server_url: 'https://mcp.example.test/sse' };

async function concurrently(profile: string, body: Record<string, unknown>) {
  const { run, token } = await scripted.gw.gateway.runs.create(profile);
  const statuses = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const res = await postWithToken(scripted.gw.gateway.url, '/v1/responses', token, body);
      await res.text();
      return res.status;
    }),
  );
  return { statuses, usage: await scripted.gw.gateway.store.tokens.usage(run.id) };
}

describe('file search results', () => {
  it('keeps concurrent file searches, each sampling reading the chunks before it, inside the input cap', async () => {
    // Two searches of 20 chunks of up to 4,096 tokens: the second sampling reads one, the third both.
    answerSlowly('file_search_call', 2, 250_000);
    const body = ask(fileSearch({ max_num_results: 20 }), { max_tool_calls: 2 });
    const { statuses, usage } = await concurrently('filer', body);
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(500_000);
  });

  it('refuses, unsent, a file search without max_num_results the cap cannot hold, naming it', async () => {
    const { token } = await scripted.gw.gateway.runs.create('filer');
    const before = sent().length;
    const body = ask(fileSearch(), { max_tool_calls: 2 });
    const res = await postWithToken(scripted.gw.gateway.url, '/v1/responses', token, body);
    expect(res.status).toBe(402);
    expect(await res.text()).toContain('tools[0].max_num_results');
    expect(sent().length).toBe(before);
  });

  for (const max_num_results of [0, 2.5, '20'])
    it(`refuses, unsent, a max_num_results of ${JSON.stringify(max_num_results)}`, async () => {
      const { token } = await scripted.gw.gateway.runs.create('filer');
      const before = sent().length;
      const body = ask(fileSearch({ max_num_results }), { max_tool_calls: 2 });
      const res = await postWithToken(scripted.gw.gateway.url, '/v1/responses', token, body);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('max_num_results');
      expect(sent().length).toBe(before);
    });
});

describe('MCP calls the API makes', () => {
  it('keeps concurrent requests with an mcp tool, each call sampled again, inside the input cap', async () => {
    // Three calls whose results the later samplings read: 60,000 tokens a request.
    answerSlowly('mcp_call', 3, 60_000);
    const { statuses, usage } = await concurrently('connector', ask(mcp, { max_tool_calls: 3 }));
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(200_000);
  });

  it('sends a request with an mcp tool and no max_tool_calls bounded, under a cap', async () => {
    answerSlowly('mcp_call', 0, 100);
    const { token } = await scripted.gw.gateway.runs.create('connector');
    const res = await postWithToken(scripted.gw.gateway.url, '/v1/responses', token, ask(mcp));
    await res.text();
    expect(sent().at(-1)?.body.max_tool_calls).toBeTypeOf('number');
  });
});
