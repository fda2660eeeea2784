/**
 * Progress an upstream reports during a tool call reaches the agent that
 * asked for it, under the agent's own progress token, and as upstream output:
 * scrubbed, hidden characters removed. Agents in other sessions never see it
 * (SDK clients number their requests alike, so their tokens collide), a call
 * that did not ask gets none, and progress sent after the answer is dropped.
 * The upstream is a real stdio MCP server (test/fixtures/progress-server.ts);
 * the agents are SDK clients through the gateway.
 */
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACK, HIDDEN_OR_ESCAPE } from '../fixtures/hostile-content.js';
import { ROOT, startTestGateway, type TestGateway } from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
gateway: { stream_responses: true }
upstreams:
  progress:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/fixtures/progress-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
tools:
  progress:
    report: { class: read }
profiles:
  agent:
    tools: [progress__report]
    budgets: { tool_calls: 100 }
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY);
});
afterAll(async () => {
  await gw?.close();
});

/** A fresh agent whose client reports every error it sees (an unknown progress token is one). */
async function agent(): Promise<{ client: Client; errors: string[] }> {
  const { client } = await gw.agent('agent');
  const errors: string[] = [];
  client.onerror = (error) => errors.push(error.message);
  return { client, errors };
}

function call(client: Client, args: Record<string, unknown>, seen?: Progress[]) {
  return client.callTool(
    { name: 'progress__report', arguments: args },
    undefined,
    seen ? { onprogress: (p) => seen.push(p) } : {},
  );
}

describe('upstream progress during a tool call', () => {
  it('reaches the calling agent under its own token, scrubbed and cleaned', async () => {
    const { client, errors } = await agent();
    const seen: Progress[] = [];
    await call(client, { label: 'alpha', steps: 3 }, seen);
    expect(seen.map((p) => [p.progress, p.total])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    for (const [i, p] of seen.entries()) {
      expect(p.message).toContain(`alpha step ${i + 1} key [REDACTED`);
      expect(p.message).not.toContain(ATTACK.credential);
      expect(p.message).not.toMatch(HIDDEN_OR_ESCAPE);
      expect(p.message).not.toContain('SYSTEM');
    }
    expect(errors).toEqual([]);
  });

  it('never goes to an agent in another session, even one using the same token', async () => {
    const a = await agent();
    const b = await agent();
    const seenA: Progress[] = [];
    const seenB: Progress[] = [];
    // Both clients' first request after initialize: the same id, so the same progress token.
    await Promise.all([
      call(a.client, { label: 'alpha', steps: 5, delay_ms: 20 }, seenA),
      call(b.client, { label: 'bravo', steps: 5, delay_ms: 20 }, seenB),
    ]);
    expect(seenA.map((p) => p.message?.split(' ')[0])).toEqual(Array(5).fill('alpha'));
    expect(seenB.map((p) => p.message?.split(' ')[0])).toEqual(Array(5).fill('bravo'));
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('is not sent for a call that did not ask for it', async () => {
    const { client, errors } = await agent();
    const result = await call(client, { label: 'quiet', steps: 3 });
    expect(result.isError).toBeFalsy();
    await new Promise((r) => setTimeout(r, 200));
    expect(errors).toEqual([]);
  });

  it('is dropped once the call has answered', async () => {
    const { client, errors } = await agent();
    const seen: Progress[] = [];
    await call(client, { label: 'late', steps: 2, late: true }, seen);
    // The upstream sends three more 50 ms after answering; give them time to arrive anywhere.
    const other: Progress[] = [];
    await call(client, { label: 'next', steps: 1, delay_ms: 400 }, other);
    expect(seen.map((p) => p.progress)).toEqual([1, 2]);
    expect(other.map((p) => p.message?.split(' ')[0])).toEqual(['next']);
    expect(errors).toEqual([]);
    const log = gw.readLog();
    expect(log).not.toContain('late late');
  });
});
