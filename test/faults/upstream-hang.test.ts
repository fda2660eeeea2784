/**
 * A stdio upstream that hangs (issue 16, point 4): its process lives, it
 * answered the handshake, then it stops answering anything. A call to it
 * times out as it should; health must then not keep saying `ready`, and the
 * hung process must be replaced, so the next call is served by a working
 * one. A stdio server that answers ping with an error (it does not know the
 * method) is alive, and one busy with a call is not pinged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { denialCode, startTestGateway, tempDir, text } from '../helpers/harness.js';
import { waitFor } from './processes.js';

/** Hangs (answers nothing, ping included) from its first `hang` call on; a new process works again. */
const SERVER = (starts: string) => `
require('node:fs').appendFileSync(${JSON.stringify(starts)}, 'x\\n');
let hung = false;
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined || hung) return;
  if (m.method === 'ping') {
    process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no ping here' } }) + '\\n');
    return;
  }
  if (m.method === 'tools/call' && m.params.name === 'hang') { hung = true; return; }
  const result = m.method === 'initialize'
    ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'hanging', version: '1' } }
    : m.method === 'tools/list'
      ? { tools: [{ name: 'hang', inputSchema: { type: 'object' } }, { name: 'ok', inputSchema: { type: 'object' } }] }
      : { content: [{ type: 'text', text: 'fine' }] };
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
});
`;

describe('a stdio upstream that stops answering', () => {
  it('is reported down and replaced once a call to it timed out, and serves again', async () => {
    const dir = tempDir('bulkhead-hang-');
    const starts = join(dir, 'starts.txt');
    const script = join(dir, 'hanging.cjs');
    writeFileSync(script, SERVER(starts));
    const gw = await startTestGateway(
      `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  h: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(script)}], call_timeout: 2s }
tools:
  h:
    hang: { class: read }
    ok: { class: read }
profiles:
  a: { tools: [h__hang, h__ok] }
`,
      { dir, gateway: { pingMs: 500 } },
    );
    const state = async () => {
      const res = await fetch(`${gw.gateway.url}/api/health`, {
        headers: { authorization: `Bearer ${gw.gateway.localToken}` },
      });
      const body = (await res.json()) as { upstreams: { name: string; state: string; restarts: number }[] };
      return body.upstreams.find((u) => u.name === 'h');
    };
    try {
      const agent = await gw.agent('a');
      // Alive although it answers ping with an error: idle pings leave it alone.
      expect(text(await agent.client.callTool({ name: 'h__ok', arguments: {} }))).toBe('fine');
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await state())?.state).toBe('ready');
      expect(readFileSync(starts, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);

      const hung = await agent.client.callTool({ name: 'h__hang', arguments: {} });
      expect(denialCode(hung)).toBe('upstream_timeout');
      await waitFor(
        () => readFileSync(starts, 'utf8').split('\n').filter(Boolean).length === 2 || undefined,
        20_000,
        'hung process replaced',
      );
      expect((await state())?.restarts).toBeGreaterThanOrEqual(1);
      await waitFor(async () => (await state())?.state === 'ready', 20_000, 'ready again');
      expect(text(await agent.client.callTool({ name: 'h__ok', arguments: {} }))).toBe('fine');
    } finally {
      await gw.close();
    }
  }, 90_000);
});
