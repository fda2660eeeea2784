/**
 * No orphan upstreams after kill -9 (issue 16, points 1 and 4): a gateway
 * killed with SIGKILL cannot close its stdio upstreams, and a server that
 * ignores the end of its stdin (many do: a timer, a watcher, a pool keeps
 * them alive) would run on forever, unowned, holding its credentials. The
 * children must go with the gateway, also in the middle of a call.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectAgent, recorded, tempDir } from '../helpers/harness.js';
import { createRun, killAll, ORDERS_ENV, ordersUpstream, spawnGateway, waitFor } from './processes.js';
import { processesWith } from './upstream-trees.js';

afterAll(killAll);

/** A stdio MCP server that answers the handshake and never exits when its stdin ends. */
const STUBBORN = `
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const result = m.method === 'initialize'
    ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'stubborn', version: '1' } }
    : m.method === 'tools/list' ? { tools: [] } : {};
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
});
process.stdin.on('end', () => {});
setInterval(() => {}, 1000);
`;

describe('a gateway killed with SIGKILL mid-call', () => {
  it('takes its stdio upstreams with it, also one that ignores the end of its stdin', async () => {
    const dir = tempDir('bulkhead-orphans-');
    const marker = `BULKHEAD_FAULT_MARKER=${dir}`;
    const env = `      BULKHEAD_FAULT_MARKER: ${JSON.stringify(dir)}`;
    const yaml = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${ordersUpstream(dir)}
${env}
  stubborn:
    command: ${JSON.stringify(process.execPath)}
    args: [-e, ${JSON.stringify(STUBBORN)}]
    env:
${env}
tools:
  orders:
    slow_echo: { class: read }
profiles:
  agent:
    tools: [orders__slow_echo]
`;
    const gw = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
    expect(processesWith(marker).length).toBeGreaterThanOrEqual(2);
    const { token } = await createRun(gw.url, gw.adminToken, 'agent');
    const agent = await connectAgent(gw.url, token);
    const call = agent
      .callTool({ name: 'orders__slow_echo', arguments: { ms: 30_000, text: 'in flight' } })
      .catch(() => 'cut');
    await waitFor(() => recorded(join(dir, 'received.jsonl')).length === 1, 30_000, 'call received');
    gw.child.kill('SIGKILL');
    await gw.exited;
    await agent.close().catch(() => undefined);
    await call;
    await waitFor(() => processesWith(marker).length === 0 || undefined, 10_000, 'children gone').catch(
      () => undefined,
    );
    expect(processesWith(marker)).toEqual([]);
  }, 120_000);
});
