/**
 * A stdio upstream in a crash loop (issue 16, point 4): it starts, answers
 * the handshake and lists its tools, then exits 300 ms later, every time.
 * The gateway must keep backing off (not respawn it every few hundred ms
 * forever because each start "succeeded"), and health must say so: down,
 * the last error, the restarts counted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestGateway, tempDir } from '../helpers/harness.js';

const CRASHING = (spawns: string) => `
require('node:fs').appendFileSync(${JSON.stringify(spawns)}, 'x\\n');
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const result = m.method === 'initialize'
    ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'crashing', version: '1' } }
    : m.method === 'tools/list' ? { tools: [{ name: 't', inputSchema: { type: 'object' } }] } : {};
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
  if (m.method === 'tools/list') setTimeout(() => process.exit(3), 300);
});
`;

describe('a stdio upstream that dies soon after every start', () => {
  it('is restarted with growing delays, and health reports it down with its restarts', async () => {
    const dir = tempDir('bulkhead-flap-');
    const spawns = join(dir, 'spawns.txt');
    const script = join(dir, 'crashing.cjs');
    writeFileSync(script, CRASHING(spawns));
    const gw = await startTestGateway(
      `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  c: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(script)}] }
tools:
  c:
    t: { class: read }
profiles:
  a: { tools: [c__t] }
`,
      { dir },
    );
    try {
      const started = Date.now();
      await new Promise((r) => setTimeout(r, 15_000));
      const count = readFileSync(spawns, 'utf8').split('\n').filter(Boolean).length;
      // Backoff 200 ms doubling: about six starts in 15 s. Restarting at once after each
      // "successful" start made it one every ~0.6 s (over 20).
      expect(count, `${count} starts in ${Date.now() - started} ms`).toBeLessThanOrEqual(9);
      const health = await fetch(`${gw.gateway.url}/api/health`, {
        headers: { authorization: `Bearer ${gw.gateway.localToken}` },
      });
      const body = (await health.json()) as {
        upstreams: { name: string; state: string; restarts: number; lastError: string | null }[];
      };
      const c = body.upstreams.find((u) => u.name === 'c');
      expect(c?.restarts).toBeGreaterThanOrEqual(count - 1);
      expect(c?.lastError).toBeTruthy();
    } finally {
      await gw.close();
    }
  }, 60_000);
});
