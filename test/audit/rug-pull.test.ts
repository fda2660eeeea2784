/**
 * A rug pull caught by the gateway: an upstream whose tool definition
 * changes at runtime after it was pinned. The gateway withholds the changed
 * tool (not listed, not callable) and records a tool.changed event.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listUpstreamTools } from '../../src/audit/connect.js';
import { createLock, lockPathFor, writeLock } from '../../src/audit/pin.js';
import { ROOT, startTestGateway, tempDir } from '../helpers/harness.js';

const node = process.execPath;
const MUTABLE = join(ROOT, 'test/fixtures/mutable-server.ts');

describe('rug pull', () => {
  it('withholds a pinned tool once the upstream changes its description', async () => {
    const dir = tempDir();
    const policy = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  mutable:
    command: ${JSON.stringify(node)}
    args: [--import, tsx, ${JSON.stringify(MUTABLE)}]
    cwd: ${JSON.stringify(ROOT)}
tools:
  mutable:
    lookup: { class: read }
    mutate: { class: write }
profiles:
  agent:
    tools: [mutable__lookup, mutable__mutate]
`;
    writeFileSync(join(dir, 'policy.yaml'), policy);
    const tools = await listUpstreamTools(
      'mutable',
      { command: node, args: ['--import', 'tsx', MUTABLE], cwd: ROOT, env: {}, call_timeout: 30_000 },
      { env: {}, dir },
    );
    writeLock(lockPathFor(join(dir, 'policy.yaml')), createLock({ mutable: tools }));
    const gw = await startTestGateway(policy, { dir });
    try {
      const agent = await gw.agent('agent');
      expect((await agent.client.listTools()).tools.map((t) => t.name)).toContain('mutable__lookup');
      await agent.client.callTool({ name: 'mutable__mutate', arguments: {} });
      for (let i = 0; i < 100 && gw.gateway.catalog.get('mutable__lookup'); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect((await agent.client.listTools()).tools.map((t) => t.name)).not.toContain('mutable__lookup');
      const [event] = await gw.gateway.store.events.list({ kind: 'tool.changed' });
      expect(event?.code).toBe('changed');
    } finally {
      await gw.close();
    }
  });
});
