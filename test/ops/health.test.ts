/**
 * Health endpoints as a load balancer or Kubernetes probe sees them: no
 * token needed; /healthz answers while the store is gone, /readyz follows the
 * store and the required upstreams (and names the failing check).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERYTHING_SERVER, startTestGateway, type TestGateway } from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  everything:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(EVERYTHING_SERVER)}]
  optional:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(EVERYTHING_SERVER)}]
    required: false
tools:
  everything:
    echo: { class: read }
profiles:
  agent:
    tools: [everything__echo]
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY);
});
afterAll(async () => {
  await gw?.close();
});

async function probe(path: string): Promise<{
  status: number;
  body: { status: string; checks?: { name: string; ok: boolean; detail: string }[] };
}> {
  const response = await fetch(`${gw.gateway.url}${path}`);
  return { status: response.status, body: (await response.json()) as never };
}

async function until(
  path: string,
  status: number,
  timeoutMs = 10_000,
): Promise<Awaited<ReturnType<typeof probe>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe(path);
    if (answer.status === status || Date.now() > deadline) return answer;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('health endpoints', () => {
  it('answers /healthz and /readyz without a token when everything is up', async () => {
    expect(await probe('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await probe('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual([
      { name: 'store', ok: true, detail: 'sqlite' },
      { name: 'upstream:everything', ok: true, detail: 'ready' },
    ]);
  });

  it('reports not ready while a required upstream is down, and ready again once it restarted', async () => {
    const pid = gw.gateway.pool.status().find((s) => s.name === 'everything')?.pid;
    expect(pid).toBeTypeOf('number');
    process.kill(pid as number, 'SIGKILL');
    const down = await until('/readyz', 503);
    expect(down.status).toBe(503);
    expect(down.body.checks?.find((c) => c.name === 'upstream:everything')?.ok).toBe(false);
    // Liveness is not readiness: the process is fine, restarting it would not help.
    expect((await probe('/healthz')).status).toBe(200);
    expect((await until('/readyz', 200)).status).toBe(200);
  });

  it('ignores an upstream marked required: false', async () => {
    const pid = gw.gateway.pool.status().find((s) => s.name === 'optional')?.pid;
    process.kill(pid as number, 'SIGKILL');
    await until('/readyz', 503, 500);
    expect((await probe('/readyz')).status).toBe(200);
  });

  it('reports the store unreachable on /readyz while /healthz, which never touches it, still answers', async () => {
    await gw.gateway.store.close();
    const answer = await probe('/readyz');
    expect(answer.status).toBe(503);
    expect(answer.body.checks?.[0]).toEqual({ name: 'store', ok: false, detail: 'unreachable' });
    expect((await probe('/healthz')).status).toBe(200);
  });
});
