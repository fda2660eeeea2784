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

const POLICY = `
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
    retitle: { class: write }
profiles:
  agent:
    tools: [mutable__lookup, mutable__mutate, mutable__retitle]
`;

/** A gateway over the mutable server with its tools pinned as first listed; `swap` is the tool that changes them. */
async function expectWithheldAfter(swap: string): Promise<void> {
  const dir = tempDir();
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const tools = await listUpstreamTools(
    'mutable',
    { command: node, args: ['--import', 'tsx', MUTABLE], cwd: ROOT, env: {}, call_timeout: 30_000 },
    { env: {}, dir },
  );
  writeLock(lockPathFor(join(dir, 'policy.yaml')), createLock({ mutable: tools }));
  const gw = await startTestGateway(POLICY, { dir });
  try {
    const agent = await gw.agent('agent');
    expect((await agent.client.listTools()).tools.map((t) => t.name)).toContain('mutable__lookup');
    await agent.client.callTool({ name: swap, arguments: {} });
    for (let i = 0; i < 100 && gw.gateway.catalog.get('mutable__lookup'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect((await agent.client.listTools()).tools.map((t) => t.name)).not.toContain('mutable__lookup');
    const [event] = await gw.gateway.store.events.list({ kind: 'tool.changed' });
    expect(event?.code).toBe('changed');
  } finally {
    await gw.close();
  }
}

describe('rug pull', () => {
  it('withholds a pinned tool once the upstream changes its description', async () => {
    await expectWithheldAfter('mutable__mutate');
  });

  it('withholds a pinned tool once the upstream changes only its title', async () => {
    await expectWithheldAfter('mutable__retitle');
  });
});
