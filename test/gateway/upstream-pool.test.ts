/**
 * The upstream pool: a crashed stdio upstream is restarted with backoff,
 * calls meanwhile fail fast with `upstream_unavailable`, and the catalog is
 * rebuilt from the new listing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Agent,
  denialCode,
  echoPolicy,
  startTestGateway,
  type TestGateway,
  text,
} from '../helpers/harness.js';

const POLICY = echoPolicy();

let gw: TestGateway;
let agent: Agent;

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  gw = await startTestGateway(POLICY);
  agent = await gw.agent('agent');
});
afterAll(async () => {
  await gw?.close();
});

describe('upstream pool', () => {
  it('restarts a crashed stdio upstream and serves again', async () => {
    const [before] = gw.gateway.pool.status();
    expect(before?.pid).toBeTypeOf('number');
    process.kill(before?.pid as number, 'SIGKILL');
    await waitFor(() => gw.gateway.pool.status()[0]?.state !== 'ready');
    const during = await agent.client.callTool({ name: 'everything__echo', arguments: { message: 'x' } });
    expect(denialCode(during)).toBe('upstream_unavailable');
    await waitFor(() => gw.gateway.pool.status()[0]?.state === 'ready');
    const after = gw.gateway.pool.status()[0];
    expect(after?.restarts).toBe(1);
    expect(after?.pid).not.toBe(before?.pid);
    const result = await agent.client.callTool({ name: 'everything__echo', arguments: { message: 'back' } });
    expect(text(result)).toContain('back');
  });

  it('records an upstream failure as an event with its code', async () => {
    const events = await gw.gateway.store.events.list({ runId: agent.runId, code: 'upstream_unavailable' });
    expect(events).toHaveLength(1);
    expect(events[0]?.decision).toBe('deny');
  });
});
