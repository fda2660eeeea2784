/**
 * Invariant 8: bad input gets a clear error, and the gateway keeps serving
 * others meanwhile. Each case is sent raw over HTTP, the way a broken or
 * hostile client would, while a well-behaved agent keeps calling.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Agent,
  everythingUpstream,
  startTestGateway,
  type TestGateway,
  text,
} from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
tools:
  everything:
    echo: { class: read, arguments: { message: { maxLength: 1000 } } }
    trigger-long-running-operation: { class: read, rename: long_operation }
profiles:
  agent:
    tools: [everything__echo, everything__long_operation]
`;

let gw: TestGateway;
let good: Agent;
let mcp: string;

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function session(token: string): Promise<string> {
  const response = await fetch(mcp, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await response.text();
  return response.headers.get('mcp-session-id') ?? '';
}

async function post(token: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(mcp, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...headers },
    body,
  });
  return { status: response.status, body: await response.text() };
}

/** The well-behaved agent's call that must keep working whatever the others send. */
let pings = 0;
async function stillServes(): Promise<void> {
  // A different message each time: identical repeats would (rightly) trip the loop guard.
  const message = `ping-${++pings}`;
  const result = await good.client.callTool({ name: 'everything__echo', arguments: { message } });
  expect(text(result)).toContain(message);
}

beforeAll(async () => {
  gw = await startTestGateway(POLICY);
  mcp = `${gw.gateway.url}/mcp`;
  good = await gw.agent('agent');
});
afterAll(async () => {
  await gw?.close();
});

describe('authentication at /mcp', () => {
  it('answers 401 without a token', async () => {
    const response = await fetch(mcp, { method: 'POST', headers: MCP_HEADERS, body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('answers 401 with a wrong token', async () => {
    expect((await post('bhr_not-a-real-token', '{}')).status).toBe(401);
  });

  it('answers 401 to an operator token used as a run token', async () => {
    expect((await post(gw.gateway.localToken, '{}')).status).toBe(401);
  });

  it("refuses another run's session id as if it did not exist", async () => {
    const other = await gw.agent('agent');
    const sid = await session(other.token);
    const response = await post(good.token, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), {
      'mcp-session-id': sid,
      'mcp-protocol-version': '2025-06-18',
    });
    expect(response.status).toBe(404);
  });
});

describe('malformed protocol input', () => {
  it('answers malformed JSON with a JSON-RPC parse error', async () => {
    const response = await post(good.token, '{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).error.code).toBe(-32700);
    await stillServes();
  });

  it('answers a JSON value that is not a request with an invalid-request error', async () => {
    const response = await post(good.token, '42');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).error.code).toBeLessThan(0);
    await stillServes();
  });

  it('refuses a wrong content type', async () => {
    const response = await post(good.token, 'hello', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    await stillServes();
  });

  it('refuses an oversized body before parsing it', async () => {
    const huge = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'ping',
      params: { pad: 'x'.repeat(5 * 1024 * 1024) },
    });
    const response = await post(good.token, huge);
    expect(response.status).toBe(413);
    await stillServes();
  });

  it('answers an unknown method with method-not-found', async () => {
    const sid = await session(good.token);
    const response = await post(
      good.token,
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/destroy' }),
      {
        'mcp-session-id': sid,
        'mcp-protocol-version': '2025-06-18',
      },
    );
    expect(response.body).toContain('-32601');
    await stillServes();
  });

  it('answers a call whose tool name is not a string with an error, not a crash', async () => {
    const sid = await session(good.token);
    const response = await post(
      good.token,
      JSON.stringify({
        jsonrpc: '2.0',
        id: 8,
        method: 'tools/call',
        params: { name: { $ne: 1 }, arguments: {} },
      }),
      { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
    );
    expect(response.body).toMatch(/"error"|isError/);
    await stillServes();
  });

  it('refuses a request without a session that is not initialize', async () => {
    const response = await post(good.token, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }));
    expect(response.status).toBe(400);
    await stillServes();
  });
});

describe('values nested deeper than any walk can recurse', () => {
  // JSON.parse takes any depth; JSON.stringify and every recursive walk overflow at a few thousand.
  const deep = (depth: number, leaf: string) => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
  const cases: [string, (d: string) => string][] = [
    ['a tool argument', (d) => `{"name":"everything__echo","arguments":{"message":"x","extra":${d}}}`],
    ['the arguments themselves', (d) => `{"name":"everything__echo","arguments":{"message":${d}}}`],
    ["an unknown tool's arguments", (d) => `{"name":"nope__nope","arguments":{"a":${d}}}`],
  ];
  for (const [where, params] of cases) {
    it(`answers ${where} nested 200,000 deep with an error, and keeps serving`, async () => {
      const sid = await session(good.token);
      const body = `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":${params(deep(200_000, '"sk-ant-api03-deepsecretvalue0123456789abcdefghij"'))}}`;
      const response = await post(good.token, body, {
        'mcp-session-id': sid,
        'mcp-protocol-version': '2025-06-18',
      });
      expect(response.body).toMatch(/"error"|isError/);
      expect(response.body).not.toContain('deepsecretvalue');
      await stillServes();
    });
  }

  it('answers a call whose own _meta is nested 200,000 deep (it is not forwarded), and keeps serving', async () => {
    const sid = await session(good.token);
    const body = `{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"x"},"_meta":{"k":${deep(200_000, '"sk-ant-api03-deepsecretvalue0123456789abcdefghij"')}}}}`;
    const response = await post(good.token, body, {
      'mcp-session-id': sid,
      'mcp-protocol-version': '2025-06-18',
    });
    expect(response.body).toContain('Echo: x');
    expect(response.body).not.toContain('deepsecretvalue');
    await stillServes();
  });
});

describe('clients that misbehave on the wire', () => {
  it('keeps serving while a client disconnects in the middle of a call', async () => {
    const sid = await session(good.token);
    const controller = new AbortController();
    const pending = fetch(mcp, {
      method: 'POST',
      headers: {
        ...MCP_HEADERS,
        authorization: `Bearer ${good.token}`,
        'mcp-session-id': sid,
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'everything__long_operation', arguments: { duration: 5, steps: 5 } },
      }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    await pending;
    await stillServes();
  });

  it('keeps serving while a slow client holds a half-sent request open', async () => {
    const port = Number(new URL(gw.gateway.url).port);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n');
    await stillServes();
    socket.destroy();
  });

  it('serves many concurrent well-formed calls alongside garbage', async () => {
    const garbage = Array.from({ length: 20 }, (_, i) => post(good.token, i % 2 ? '{{{' : '[]'));
    const calls = Array.from({ length: 20 }, (_, i) =>
      good.client.callTool({ name: 'everything__echo', arguments: { message: `m${i}` } }),
    );
    const results = await Promise.all(calls);
    await Promise.all(garbage);
    expect(results.map(text).every((t, i) => t.includes(`m${i}`))).toBe(true);
  });
});
