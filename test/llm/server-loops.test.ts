/**
 * Anthropic code execution and the MCP connector let the API run its own loop inside one
 * request: Claude calls the tool, the API runs it, appends the result and samples the whole
 * conversation again, up to the server-side loop's limit (10 iterations, then `pause_turn`). No
 * field such as `max_uses` bounds them, so a request reserved at one or two readings of its prompt
 * was charged ten and more, and concurrent requests together passed a token or USD cap. Each must
 * be reserved at the loop's limit, results included, or refused unsent when the cap cannot pay.
 * Raw HTTP against a fake provider that reports the usage such a loop is billed.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { messageAnswer } from '../helpers/llm-harness.js';
import { postWithToken, useScriptedGateway } from './scripted-api.js';

const PROFILES = `
  coder:
    llm: { server_tools: [code_execution] }
    budgets: { tokens: { input: 1000000 } }
  coder-usd:
    llm: { server_tools: [code_execution] }
    budgets: { usd: 3 }
  small-coder:
    llm: { server_tools: [code_execution] }
    budgets: { tokens: { input: 50000 } }
  searcher:
    llm: { server_tools: [web_search] }
    budgets: { tokens: { input: 150000 } }
  connector:
    llm: { server_tools: [mcp_toolset], mcp_servers: ['https://mcp.example.test/sse'], betas: [mcp-client-2025-04-04, mcp-client-2025-11-20] }
    budgets: { tokens: { input: 1000000 } }
`;
const scripted = useScriptedGateway(PROFILES);

const messages = () => scripted.api.received.filter((r) => r.path === '/v1/messages').length;
const json = (res: ServerResponse, value: unknown) =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));

/** A loop's answer after 150 ms: `input` tokens read over its samplings. */
function answerSlowly(input: number) {
  scripted.api.answer = async (res) => {
    await new Promise((resolve) => setTimeout(resolve, 150));
    json(res, { ...messageAnswer('done'), usage: { input_tokens: input, output_tokens: 10 } });
  };
}

const ask = (extra: Record<string, unknown>) => ({
  model: 'claude-test',
  max_tokens: 50,
  messages: [{ role: 'user', content: 'work it out' }],
  ...extra,
});
const codeExecution = ask({ tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] });
const server = { type: 'url', url: 'https://mcp.example.test/sse', name: 'm' };

async function concurrently(profile: string, body: Record<string, unknown>, beta?: string) {
  const { run, token } = await scripted.gw.gateway.runs.create(profile);
  const statuses = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const res = await postWithToken(scripted.gw.gateway.url, '/v1/messages', token, body, beta);
      await res.text();
      return res.status;
    }),
  );
  return { statuses, usage: await scripted.gw.gateway.store.tokens.usage(run.id) };
}

describe('the server-side loop of code execution', () => {
  it('keeps concurrent code-executing requests inside the input token cap', async () => {
    // Ten samplings over the prompt and the code's output: 250,000 tokens a request.
    answerSlowly(250_000);
    const { statuses, usage } = await concurrently('coder', codeExecution);
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(1_000_000);
  });

  it('keeps concurrent code-executing requests inside the USD cap', async () => {
    // 250,000 tokens at $3 per million and an hour of container: $0.80 a request.
    answerSlowly(250_000);
    const { statuses, usage } = await concurrently('coder-usd', codeExecution);
    expect(statuses).toContain(200);
    expect(usage.usd).toBeLessThanOrEqual(3);
  });

  it('refuses, unsent, a code-executing request the cap cannot pay, naming the tool', async () => {
    const { token } = await scripted.gw.gateway.runs.create('small-coder');
    const before = messages();
    const res = await postWithToken(scripted.gw.gateway.url, '/v1/messages', token, codeExecution);
    expect(res.status).toBe(402);
    expect(await res.text()).toContain('tools[0]');
    expect(messages()).toBe(before);
  });
});

describe('the server-side loop of the MCP connector', () => {
  it('keeps concurrent requests with an mcp_toolset inside the input token cap', async () => {
    answerSlowly(250_000);
    const body = ask({ mcp_servers: [server], tools: [{ type: 'mcp_toolset', mcp_server_name: 'm' }] });
    const { statuses, usage } = await concurrently('connector', body, 'mcp-client-2025-11-20');
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(1_000_000);
  });

  it('keeps concurrent requests naming an MCP server without tools inside the input token cap', async () => {
    // The first connector beta exposes every tool of a listed server, no `tools` entry needed.
    answerSlowly(250_000);
    const { statuses, usage } = await concurrently(
      'connector',
      ask({ mcp_servers: [server] }),
      'mcp-client-2025-04-04',
    );
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(1_000_000);
  });
});

describe('what each sampling wrote, read by the next', () => {
  it('keeps concurrent searches that write long before searching inside the input cap', async () => {
    // A 60,000-token turn written before the search is read again by the sampling after it.
    answerSlowly(75_000);
    const body = {
      ...ask({ tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }] }),
      max_tokens: 60_000,
    };
    const { statuses, usage } = await concurrently('searcher', body);
    expect(statuses).toContain(200);
    expect(usage.input).toBeLessThanOrEqual(150_000);
  });
});
