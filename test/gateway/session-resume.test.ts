/**
 * An agent's MCP session outlives the gateway process that opened it: after
 * a restart on the same store and port, the same MCP SDK client goes on
 * calling tools with the session id it holds, instead of being told 404 for
 * the rest of its run (the SDK client does not initialise again by itself).
 * A session id is no credential: one run cannot reopen another run's
 * session, nor a made-up id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Agent,
  denialCode,
  echoPolicy,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const POLICY = echoPolicy();

const dir = tempDir();
const open: TestGateway[] = [];
afterAll(async () => {
  for (const gw of open) await gw.close().catch(() => undefined);
});

/** A gateway on the shared store, on `port` (0: any). */
async function start(port = 0): Promise<TestGateway> {
  const gw = await startTestGateway(POLICY, { dir, gateway: { port } });
  open.push(gw);
  return gw;
}

const portOf = (gw: TestGateway) => Number(new URL(gw.gateway.url).port);

async function echo(agent: Agent, message: string): Promise<string> {
  const result = await agent.client.callTool({ name: 'everything__echo', arguments: { message } });
  expect(result.isError ?? false).toBe(false);
  return JSON.stringify(result.content);
}

/** A raw MCP request with a session id and a token, as a client that holds them sends it. */
function post(url: string, token: string, sessionId: string, body: unknown): Promise<Response> {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify(body),
  });
}

const listTools = { jsonrpc: '2.0', id: 7, method: 'tools/list' };

describe('an MCP session across a gateway restart', () => {
  it('keeps serving the same SDK client after the gateway is replaced on the same store and port', async () => {
    const first = await start();
    const agent = await first.agent('agent');
    expect(await echo(agent, 'before')).toContain('before');
    const port = portOf(first);
    await first.gateway.close();
    const second = await start(port);
    expect(await echo(agent, 'after the restart')).toContain('after the restart');
    expect(second.gateway.mcp.sessionsOf(agent.runId)).toBe(1);
    // The log is written asynchronously.
    for (let i = 0; i < 100 && !second.readLog().includes('reopened an MCP session'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(second.readLog()).toContain('reopened an MCP session');
  });

  it('does not reopen a session of another run, nor an id it never made', async () => {
    const first = await start();
    const mine = await first.agent('agent');
    const sessionId = mine.client.transport?.sessionId ?? '';
    expect(sessionId).toMatch(/\.[0-9a-f]{16}$/);
    const port = portOf(first);
    await first.gateway.close();
    const second = await start(port);
    const other = await second.gateway.runs.create('agent');
    // Another run's token with my session's id: 404, and my session is not opened for it.
    expect((await post(second.gateway.url, other.token, sessionId, listTools)).status).toBe(404);
    expect(second.gateway.mcp.sessionsOf(other.run.id)).toBe(0);
    // An id without a run's tag, or with another run's tag: 404.
    for (const made of [crypto.randomUUID(), `${crypto.randomUUID()}.0123456789abcdef`])
      expect((await post(second.gateway.url, mine.token, made, listTools)).status).toBe(404);
    // My own token with my session's id: served.
    const answer = await post(second.gateway.url, mine.token, sessionId, listTools);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('everything__echo');
  });

  it('reopens a session once when several of its requests arrive together', async () => {
    const first = await start();
    const agent = await first.agent('agent');
    const sessionId = agent.client.transport?.sessionId ?? '';
    const port = portOf(first);
    await first.gateway.close();
    const second = await start(port);
    // The gateways of this file share one log: count what this one adds.
    const reopenedLines = () => second.readLog().split('reopened an MCP session').length - 1;
    const before = reopenedLines();
    const calls = Array.from({ length: 6 }, (_, i) =>
      post(second.gateway.url, agent.token, sessionId, {
        jsonrpc: '2.0',
        id: 100 + i,
        method: 'tools/call',
        params: { name: 'everything__echo', arguments: { message: `together ${i}` } },
      }),
    );
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(second.gateway.mcp.sessionsOf(agent.runId)).toBe(1);
    // Opened once: one transport, one log line (the log is written asynchronously).
    await new Promise((r) => setTimeout(r, 500));
    expect(reopenedLines() - before).toBe(1);
    // The session they share still serves the SDK client.
    expect(await echo(agent, 'after')).toContain('after');
  });

  it('tells the agent of a run that ended meanwhile that it ended, not that its session is gone', async () => {
    const first = await start();
    const agent = await first.agent('agent');
    const port = portOf(first);
    await first.gateway.close();
    const second = await start(port);
    await second.gateway.runs.end(agent.runId, 'killed', 'test');
    const result = await agent.client.callTool({ name: 'everything__echo', arguments: { message: 'late' } });
    expect(denialCode(result)).toBe('run_not_active');
  });
});

describe('an MCP session on two replicas sharing PostgreSQL, with no affinity', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  it('is served by the replica the next request lands on', async () => {
    const shared = echoPolicy(`{ postgres: { url: ${JSON.stringify(pg.url)} } }`);
    const a = await startTestGateway(shared);
    const b = await startTestGateway(shared);
    open.push(a, b);
    const agent = await a.agent('agent');
    const sessionId = agent.client.transport?.sessionId ?? '';
    const call = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'everything__echo', arguments: { message: 'on the other replica' } },
    };
    const answer = await post(b.gateway.url, agent.token, sessionId, call);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('on the other replica');
    expect(b.gateway.mcp.sessionsOf(agent.runId)).toBe(1);
    // And the replica that opened it still serves it.
    expect(await echo(agent, 'back on the first')).toContain('back on the first');
  });
});
