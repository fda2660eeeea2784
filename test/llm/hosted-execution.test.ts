/**
 * Tools that look like the client's own but run on the provider's machines: the Responses `shell`
 * tool with an `environment` other than `local` is OpenAI's hosted shell (a container of the
 * account, with network access where its `network_policy` says), and a container named by id
 * (`container_reference`, a code interpreter's `container: "cntr_..."`) is one another run (or
 * another agent on the same key) filled. Each must be a side door, refused unsent unless the
 * profile allows it; the MCP spellings of both APIs too, plain and streamed. Raw HTTP against a
 * fake provider that would answer anything.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { postWithToken, useScriptedGateway } from './scripted-api.js';

const PROFILES = `
  agent:
    budgets: { tokens: { output: 100000 } }
  hosted:
    llm: { server_tools: [shell, code_interpreter, code_execution, web_search] }
    budgets: { usd: 5 }
  mcp:
    llm: { mcp_servers: ['https://mcp.example.test/sse'], betas: [mcp-client-2025-04-04, mcp-client-2025-11-20] }
    budgets: { tokens: { output: 100000 } }
`;
const scripted = useScriptedGateway(PROFILES);

const json = (res: ServerResponse, value: unknown) =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
const responseAnswer = {
  id: 'resp_1',
  object: 'response',
  status: 'completed',
  model: 'claude-test',
  output: [{ type: 'message', id: 'm1', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] }],
  usage: { input_tokens: 10, output_tokens: 10 },
};

async function post(path: string, profile: string, body: Record<string, unknown>, beta?: string) {
  scripted.api.answer = (res) => json(res, responseAnswer);
  const { token } = await scripted.gw.gateway.runs.create(profile);
  const before = scripted.api.received.length;
  const res = await postWithToken(scripted.gw.gateway.url, path, token, body, beta);
  const text = await res.text();
  return { status: res.status, text, sent: scripted.api.received.length - before };
}

const responses = (tools: unknown[], stream = false) => ({
  model: 'claude-test',
  max_output_tokens: 100,
  input: 'run it',
  stream,
  tools,
});

describe('the Responses shell tool run by the provider', () => {
  for (const stream of [false, true])
    it(`refuses, unsent, a hosted shell (environment container_auto)${stream ? ', streamed' : ''}`, async () => {
      const tools = [{ type: 'shell', environment: { type: 'container_auto' } }];
      const r = await post('/v1/responses', 'agent', responses(tools, stream));
      expect(r.status).toBe(400);
      expect(r.text).toContain('tools[0].environment');
      expect(r.sent).toBe(0);
    });

  it('refuses, unsent, a hosted shell in an existing container (container_reference)', async () => {
    const tools = [{ type: 'shell', environment: { type: 'container_reference', container_id: 'cntr_1' } }];
    const r = await post('/v1/responses', 'hosted', responses(tools));
    expect(r.status).toBe(400);
    expect(r.text).toContain('tools[0].environment');
    expect(r.sent).toBe(0);
  });

  it('refuses, unsent, a hosted shell inside a namespace', async () => {
    const tools = [
      { type: 'namespace', name: 'n', tools: [{ type: 'shell', environment: { type: 'container_auto' } }] },
    ];
    const r = await post('/v1/responses', 'agent', responses(tools));
    expect(r.status).toBe(400);
    expect(r.text).toContain('tools[0].tools[0].environment');
    expect(r.sent).toBe(0);
  });

  it('passes a shell the client runs (no environment, or a local one)', async () => {
    for (const tool of [{ type: 'shell' }, { type: 'shell', environment: { type: 'local' } }]) {
      const r = await post('/v1/responses', 'agent', responses([tool]));
      expect(r.status).toBe(200);
    }
  });

  it('passes a hosted shell in a new container where the profile allows the shell server tool', async () => {
    const tools = [{ type: 'shell', environment: { type: 'container_auto' } }];
    expect((await post('/v1/responses', 'hosted', responses(tools))).status).toBe(200);
  });
});

describe('a hosted shell loading skills stored in the account', () => {
  it('refuses, unsent, skills by reference where the shell is allowed', async () => {
    const environment = {
      type: 'container_auto',
      skills: [{ type: 'skill_reference', skill_id: 'skill_someone_elses' }],
    };
    const r = await post('/v1/responses', 'hosted', responses([{ type: 'shell', environment }]));
    expect(r.status).toBe(400);
    expect(r.text).toContain('tools[0].environment.skills');
    expect(r.sent).toBe(0);
  });
});

describe('a code interpreter in a container named by id', () => {
  it('refuses, unsent, a container id where the code interpreter is allowed', async () => {
    const tools = [{ type: 'code_interpreter', container: 'cntr_someone_elses' }];
    const r = await post('/v1/responses', 'hosted', responses(tools));
    expect(r.status).toBe(400);
    expect(r.text).toContain('tools[0].container');
    expect(r.sent).toBe(0);
  });
});

describe('MCP spellings', () => {
  const messages = (extra: Record<string, unknown>, stream = false) => ({
    model: 'claude-test',
    max_tokens: 100,
    stream,
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });

  for (const stream of [false, true])
    it(`refuses, unsent, a Messages MCP server not listed${stream ? ', streamed' : ''}`, async () => {
      const body = messages(
        {
          mcp_servers: [{ type: 'url', url: 'https://evil.test/sse', name: 'e' }],
          tools: [{ type: 'mcp_toolset', mcp_server_name: 'e' }],
        },
        stream,
      );
      const r = await post('/v1/messages', 'mcp', body, 'mcp-client-2025-11-20');
      expect(r.status).toBe(400);
      expect(r.text).toContain('mcp_servers[0].url');
      expect(r.sent).toBe(0);
    });

  it('refuses, unsent, an mcp_toolset tool where the profile lists no server tool', async () => {
    const body = messages({ tools: [{ type: 'mcp_toolset', mcp_server_name: 'x' }] });
    const r = await post('/v1/messages', 'agent', body);
    expect(r.status).toBe(400);
    expect(r.text).toContain('tools[0].type');
    expect(r.sent).toBe(0);
  });

  it('refuses, unsent, a listed MCP server spelled with a path the URL parser resolves elsewhere', async () => {
    const body = messages({
      mcp_servers: [{ type: 'url', url: 'https://mcp.example.test/sse/../../evil', name: 'e' }],
    });
    const r = await post('/v1/messages', 'mcp', body, 'mcp-client-2025-04-04');
    expect(r.status).toBe(400);
    expect(r.sent).toBe(0);
  });

  for (const stream of [false, true])
    it(`refuses, unsent, a Responses mcp tool not listed${stream ? ', streamed' : ''}`, async () => {
      const tools = [{ type: 'mcp', server_label: 'e', server_url: 'https://evil.test/sse' }];
      const r = await post('/v1/responses', 'mcp', responses(tools, stream));
      expect(r.status).toBe(400);
      expect(r.text).toContain('tools[0].server_url');
      expect(r.sent).toBe(0);
    });

  it('refuses, unsent, a listed Responses mcp server that also names a connector', async () => {
    const tools = [
      {
        type: 'mcp',
        server_label: 'e',
        server_url: 'https://mcp.example.test/sse',
        connector_id: 'connector_gmail',
      },
    ];
    const r = await post('/v1/responses', 'mcp', responses(tools));
    expect(r.status).toBe(400);
    expect(r.sent).toBe(0);
  });
});

describe('provider containers billed by their size, and kept offline', () => {
  const spent = async (profile: string, body: Record<string, unknown>, call: string) => {
    const { run, token } = await scripted.gw.gateway.runs.create(profile);
    scripted.api.answer = (res) =>
      json(res, {
        ...responseAnswer,
        output: [{ type: call, id: 'c1', status: 'completed' }, ...responseAnswer.output],
      });
    const res = await postWithToken(scripted.gw.gateway.url, '/v1/responses', token, body);
    expect(res.status).toBe(200);
    await res.text();
    return (await scripted.gw.gateway.store.tokens.usage(run.id)).usd;
  };

  it('charges a 64 GB code interpreter container 64 times a 1 GB one ($1.92)', async () => {
    const tools = [{ type: 'code_interpreter', container: { type: 'auto', memory_limit: '64g' } }];
    const usd = await spent('hosted', { ...responses(tools), max_tool_calls: 1 }, 'code_interpreter_call');
    expect(usd).toBeGreaterThanOrEqual(1.92);
  });

  it('charges a hosted shell container as a code interpreter one of its size', async () => {
    const tools = [{ type: 'shell', environment: { type: 'container_auto', memory_limit: '4g' } }];
    const usd = await spent('hosted', { ...responses(tools), max_tool_calls: 1 }, 'shell_call');
    expect(usd).toBeGreaterThanOrEqual(0.12);
  });

  for (const [what, tool, field] of [
    [
      'a code interpreter',
      {
        type: 'code_interpreter',
        container: { type: 'auto', network_policy: { type: 'allowlist', allowed_domains: ['evil.test'] } },
      },
      'tools[0].container.network_policy',
    ],
    [
      'a hosted shell',
      {
        type: 'shell',
        environment: {
          type: 'container_auto',
          network_policy: { type: 'allowlist', allowed_domains: ['evil.test'] },
        },
      },
      'tools[0].environment.network_policy',
    ],
  ] as const)
    it(`refuses, unsent, ${what} container let onto the network`, async () => {
      const r = await post('/v1/responses', 'hosted', responses([tool]));
      expect(r.status).toBe(400);
      expect(r.text).toContain(field);
      expect(r.sent).toBe(0);
    });
});

describe('Messages code execution container time', () => {
  const execute = { type: 'code_execution_20250825', name: 'code_execution' };
  /** What a run spent on one request with `tools`, answered with `usage` and nothing else. */
  async function spentOn(tools: unknown[], usage: Record<string, unknown>) {
    const { run, token } = await scripted.gw.gateway.runs.create('hosted');
    scripted.api.answer = (res) =>
      json(res, {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-test',
        content: [{ type: 'text', text: 'done' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 10, output_tokens: 10, ...usage },
      });
    const body = {
      model: 'claude-test',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'compute it' }],
      tools,
    };
    const res = await postWithToken(scripted.gw.gateway.url, '/v1/messages', token, body);
    expect(res.status).toBe(200);
    await res.text();
    return (await scripted.gw.gateway.store.tokens.usage(run.id)).usd;
  }

  it('charges an answered request with code execution a container hour ($0.05), which no usage reports', async () => {
    expect(await spentOn([execute], {})).toBeGreaterThanOrEqual(0.05);
  });

  it('still charges the web searches a code execution request reports beside its container', async () => {
    const search = { type: 'web_search_20250305', name: 'web_search', max_uses: 2 };
    const usd = await spentOn([execute, search], { server_tool_use: { web_search_requests: 2 } });
    expect(usd).toBeGreaterThanOrEqual(0.05 + 0.02);
  });
});

describe('server tools grouped in a namespace', () => {
  it('sends a Responses web search inside a namespace bounded by max_tool_calls, under a cap', async () => {
    const tools = [{ type: 'namespace', name: 'n', tools: [{ type: 'web_search' }] }];
    const r = await post('/v1/responses', 'hosted', responses(tools));
    expect(r.status).toBe(200);
    expect(scripted.api.received.at(-1)?.body.max_tool_calls).toBeTypeOf('number');
  });

  it('charges a 64 GB code interpreter inside a namespace at its size', async () => {
    const { run, token } = await scripted.gw.gateway.runs.create('hosted');
    scripted.api.answer = (res) =>
      json(res, {
        ...responseAnswer,
        output: [{ type: 'code_interpreter_call', id: 'c1', status: 'completed' }, ...responseAnswer.output],
      });
    const inner = { type: 'code_interpreter', container: { type: 'auto', memory_limit: '64g' } };
    const body = { ...responses([{ type: 'namespace', name: 'n', tools: [inner] }]), max_tool_calls: 1 };
    const res = await postWithToken(scripted.gw.gateway.url, '/v1/responses', token, body);
    expect(res.status).toBe(200);
    await res.text();
    expect((await scripted.gw.gateway.store.tokens.usage(run.id)).usd).toBeGreaterThanOrEqual(1.92);
  });
});
