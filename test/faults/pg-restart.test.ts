/**
 * PostgreSQL stopped and started again under a running gateway (issue 16,
 * point 5): while it is down, health answers at once and says so, a call
 * fails closed quickly with `store_unavailable` and is never forwarded;
 * once it is back, the gateway serves again without a restart, its LISTEN
 * connection included.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { denialCode, MCP_HEADERS, recorded, startTestGateway, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { ORDERS_ENV, ordersUpstream, waitFor } from './processes.js';

let pg: TestPostgres | undefined;
afterAll(() => pg?.stop());

interface Health {
  ok: boolean;
  problems: string[];
  store: { ok: boolean; signals?: string };
}

describe.runIf(postgresAvailable() || process.env.CI === 'true')('PostgreSQL restarted mid-run', () => {
  it('fails calls closed and fast while it is down, and serves again once it is back', async () => {
    pg = await startPostgres();
    const dir = tempDir('bulkhead-pg-restart-');
    const gw = await startTestGateway(
      `
version: 1
store: { postgres: { url: ${JSON.stringify(pg.url)} } }
upstreams:
  orders:
${ordersUpstream(dir)}
llm:
  base_url: http://127.0.0.1:9
  api_key: { secret: ANTHROPIC_API_KEY }
tools:
  orders:
    slow_echo: { class: read }
profiles:
  agent:
    tools: [orders__slow_echo]
`,
      { dir, env: { ...ORDERS_ENV, ANTHROPIC_API_KEY: 'sk-ant-unused' } },
    );
    const health = async (): Promise<{ ms: number; body: Health }> => {
      const started = Date.now();
      const res = await fetch(`${gw.gateway.url}/api/health`, {
        headers: { authorization: `Bearer ${gw.gateway.localToken}` },
      });
      return { ms: Date.now() - started, body: (await res.json()) as Health };
    };
    try {
      const agent = await gw.agent('agent');
      const first = await agent.client.callTool({
        name: 'orders__slow_echo',
        arguments: { ms: 1, text: 'a' },
      });
      expect(denialCode(first)).toBeUndefined();

      pg.stop();
      const down = await health();
      expect(down.ms).toBeLessThan(1_500);
      expect(down.body.ok).toBe(false);
      expect(down.body.store.ok).toBe(false);
      const started = Date.now();
      const refused = await agent.client.callTool({
        name: 'orders__slow_echo',
        arguments: { ms: 1, text: 'while down' },
      });
      expect(denialCode(refused)).toBe('store_unavailable');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(
        recorded(join(dir, 'received.jsonl')).map((r) => (r.arguments as { text: string }).text),
      ).toEqual(['a']);

      const port = new URL(pg.url).port;
      const api = await fetch(`${gw.gateway.url}/api/runs`, {
        headers: { authorization: `Bearer ${gw.gateway.localToken}` },
      });
      expect(api.status).toBe(503);
      expect(await api.json()).toMatchObject({ error: 'store_unavailable' });
      const fresh = await fetch(`${gw.gateway.url}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${agent.token}` },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
          },
        }),
      });
      // A new session is refused as unavailable, and nothing names the database server.
      expect(fresh.status).toBe(503);
      const freshText = await fresh.text();
      expect(freshText).not.toContain(port);
      // In the shape an MCP client parses: a JSON-RPC error.
      expect(JSON.parse(freshText)).toMatchObject({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, data: { code: 'store_unavailable' } },
      });
      expect(JSON.stringify(refused)).not.toContain(port);
      // The LLM door answers in the Messages API's error shape.
      const llm = await fetch(`${gw.gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': agent.token, 'content-type': 'application/json' },
        body: '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}',
      });
      expect(llm.status).toBe(503);
      expect(await llm.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      pg.start();
      await waitFor(async () => (await health()).body.ok, 30_000, 'healthy again');
      const again = await agent.client.callTool({
        name: 'orders__slow_echo',
        arguments: { ms: 1, text: 'b' },
      });
      expect(denialCode(again)).toBeUndefined();
      await waitFor(async () => (await health()).body.store.signals === 'push', 30_000, 'LISTEN again');
    } finally {
      await gw.close();
    }
  }, 120_000);
});
