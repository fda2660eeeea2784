/**
 * Upstreams heal, and a bad one never takes the rest down (issue 16,
 * point 4), with real upstream processes:
 * - a Streamable HTTP upstream killed with SIGKILL and started again on the
 *   same port has forgotten our session: the next call re-initialises it and
 *   works (for servers answering 404 as the spec says, and 400 as the SDK's
 *   example and the reference `everything` server do), runs once, and health
 *   says ready with the restart counted and the last error kept;
 * - an upstream down at start: the gateway starts degraded, its tools are
 *   refused with `upstream_unavailable`, health names it, and it is picked up
 *   in the background when it comes up; the other upstream serves meanwhile;
 * - an upstream marked `required: true` that hangs at start: `bulkhead
 *   gateway` exits non-zero promptly and leaves no child process behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/gateway/health-report.js';
import {
  denialCode,
  exampleUpstream,
  ROOT,
  startTestGateway,
  type TestGateway,
  tempDir,
  text,
} from '../helpers/harness.js';
import { killAll, spawnGateway, waitFor } from './processes.js';
import { processesWith } from './upstream-trees.js';

const FIXTURE = join(ROOT, 'test/fixtures/http-upstream.ts');
const upstreams: ChildProcess[] = [];

afterAll(() => {
  killAll();
  for (const child of upstreams)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface HttpUpstream {
  child: ChildProcess;
  port: number;
  exited: Promise<unknown>;
}

/** Starts the fixture; with `takeOver` it resolves once loaded, and binds the port as soon as it is free. */
function httpUpstream(
  port: number,
  mode: '404' | '400',
  record: string,
  takeOver = false,
): { loaded: Promise<void>; listening: Promise<HttpUpstream> } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      FIXTURE,
      '--port',
      String(port),
      '--unknown-session',
      mode,
      '--record',
      record,
      ...(takeOver ? ['--take-over'] : []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  upstreams.push(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const line = (re: RegExp) => waitFor(() => re.exec(out)?.[1], 60_000, `upstream output ${re}`);
  return {
    loaded: takeOver ? line(/(waiting)\n/).then(() => undefined) : Promise.resolve(),
    listening: line(/^(?:waiting\n)?(\d+)\n/).then((p) => ({ child, port: Number(p), exited })),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function policy(port: number, extra = ''): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  web:
    url: http://127.0.0.1:${port}/mcp
${extra}
tools:
  web:
    echo: { class: read }
profiles:
  agent:
    tools: [web__echo]
`;
}

async function health(gw: TestGateway): Promise<HealthReport> {
  const response = await fetch(`${gw.gateway.url}/api/health`, {
    headers: { authorization: `Bearer ${gw.gateway.localToken}` },
  });
  return (await response.json()) as HealthReport;
}

function ran(record: string): { pid: number; message: string }[] {
  try {
    return readFileSync(record, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { pid: number; message: string });
  } catch {
    return [];
  }
}

describe('an HTTP upstream restarted on the same port', { timeout: 180_000 }, () => {
  for (const mode of ['404', '400'] as const) {
    it(`re-initialises the session and the next call works (server answers ${mode} for a lost session)`, async () => {
      const dir = tempDir('bulkhead-heal-');
      const record = join(dir, 'ran.jsonl');
      const first = await httpUpstream(0, mode, record).listening;
      const gw = await startTestGateway(policy(first.port), { dir });
      try {
        const agent = await gw.agent('agent');
        const before = await agent.client.callTool({ name: 'web__echo', arguments: { message: 'before' } });
        expect(text(before)).toBe('before');

        // The replacement is loaded first and binds the moment the port is free: a restart
        // faster than any ping, so only the call itself can find the session gone.
        const next = httpUpstream(first.port, mode, record, true);
        await next.loaded;
        first.child.kill('SIGKILL');
        await first.exited;
        const second = await next.listening;
        expect((await health(gw)).upstreams[0]?.state).toBe('ready');

        const after = await agent.client.callTool({ name: 'web__echo', arguments: { message: 'after' } });
        expect(denialCode(after)).toBeUndefined();
        expect(text(after)).toBe('after');
        // Ran once, by the restarted server.
        expect(ran(record).filter((r) => r.message === 'after')).toEqual([
          { pid: second.child.pid, message: 'after' },
        ]);
        const report = await health(gw);
        const web = report.upstreams.find((u) => u.name === 'web');
        expect(web?.state).toBe('ready');
        expect(web?.restarts).toBe(1);
        expect(web?.lastError).toMatch(/session/);
        expect(report.ok).toBe(true);

        const again = await agent.client.callTool({ name: 'web__echo', arguments: { message: 'again' } });
        expect(text(again)).toBe('again');
        second.child.kill('SIGKILL');
      } finally {
        await gw.close();
      }
    });
  }
});

describe('a call cancelled on an HTTP upstream', { timeout: 180_000 }, () => {
  it('leaves no answer stream open: the one the server never ends is closed', async () => {
    const dir = tempDir('bulkhead-cancelled-');
    const record = join(dir, 'ran.jsonl');
    const upstream = await httpUpstream(0, '404', record).listening;
    const gw = await startTestGateway(
      `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  web:
    url: http://127.0.0.1:${upstream.port}/mcp
tools:
  web:
    wait: { class: read }
    open_answers: { class: read }
profiles:
  agent:
    tools: [web__wait, web__open_answers]
    loop_guard: { identical_calls: 1000 }
`,
      { dir },
    );
    try {
      const counter = await gw.agent('agent');
      const connections = async () => {
        const result = await counter.client.callTool({ name: 'web__open_answers', arguments: {} });
        expect(denialCode(result)).toBeUndefined();
        return Number(text(result));
      };
      const before = await connections();
      for (let i = 0; i < 8; i++) {
        const victim = await gw.agent('agent');
        const call = victim.client.callTool({
          name: 'web__wait',
          arguments: { ms: 600_000, tag: `cut-${i}` },
        });
        await waitFor(
          () => ran(record).some((r) => r.message === `cut-${i}`),
          20_000,
          'call reached the upstream',
        );
        await gw.gateway.runs.end(victim.runId, 'killed', 'fault test');
        expect(denialCode(await call)).toBe('run_not_active');
      }
      // Each cut call left its answer stream open on both sides before (one per cut call); now
      // none does.
      await waitFor(
        async () => (await connections()) <= before || undefined,
        20_000,
        'connections closed',
      ).catch(() => undefined);
      expect(await connections()).toBe(before);
      // Nothing twice: dropping a killed call's answer never sends the call again.
      for (let i = 0; i < 8; i++) {
        expect(ran(record).filter((r) => r.message === `cut-${i}`)).toHaveLength(1);
      }
      upstream.child.kill('SIGKILL');
    } finally {
      await gw.close();
    }
  });
});

describe('an upstream down at start', { timeout: 180_000 }, () => {
  it('starts the gateway degraded, refuses its tools clearly, and picks it up when it comes up', async () => {
    const dir = tempDir('bulkhead-degraded-');
    const port = await freePort();
    const orders = `  orders:\n${exampleUpstream('orders', {
      ORDERS_API_TOKEN: 'orders-token',
      ORDERS_DB: JSON.stringify(join(dir, 'orders.db')),
    })}`;
    const yaml = policy(port, orders)
      .replace(
        '    echo: { class: read }',
        '    echo: { class: read }\n  orders:\n    get_order_status: { class: read }',
      )
      .replace('tools: [web__echo]', 'tools: [web__echo, orders__get_order_status]');
    const started = Date.now();
    const gw = await startTestGateway(yaml, { dir });
    try {
      // Nothing listens on the port: the gateway still starts, well before the 15 s start timeout.
      expect(Date.now() - started).toBeLessThan(15_000);
      const down = await health(gw);
      const web = down.upstreams.find((u) => u.name === 'web');
      expect(web?.state).toBe('down');
      expect(web?.lastError).toBeTruthy();
      expect(down.problems.some((p) => p.startsWith('upstream web down'))).toBe(true);
      expect(down.ok).toBe(false);
      const ready = await fetch(`${gw.gateway.url}/readyz`);
      expect(ready.status).toBe(503);

      const agent = await gw.agent('agent');
      const refused = await agent.client.callTool({ name: 'web__echo', arguments: { message: 'x' } });
      expect(denialCode(refused)).toBe('upstream_unavailable');
      expect(text(refused)).toMatch(/unavailable/);
      // The other upstream serves meanwhile.
      const status = await agent.client.callTool({
        name: 'orders__get_order_status',
        arguments: { order_id: 'ORD-000001' },
      });
      expect(denialCode(status)).toBeUndefined();

      const record = join(dir, 'ran.jsonl');
      const upstream = await httpUpstream(port, '404', record).listening;
      await waitFor(
        async () => (await health(gw)).upstreams.find((u) => u.name === 'web')?.state === 'ready',
        60_000,
        'upstream picked up in the background',
      );
      const served = await agent.client.callTool({ name: 'web__echo', arguments: { message: 'up' } });
      expect(text(served)).toBe('up');
      expect((await fetch(`${gw.gateway.url}/readyz`)).status).toBe(200);
      upstream.child.kill('SIGKILL');
    } finally {
      await gw.close();
    }
  });
});

describe('a required upstream that cannot start', { timeout: 180_000 }, () => {
  it('makes bulkhead gateway exit non-zero promptly, leaving no child process', async () => {
    const dir = tempDir('bulkhead-required-');
    const marker = `BULKHEAD_FAULT_MARKER=${dir}`;
    const env = `      BULKHEAD_FAULT_MARKER: ${JSON.stringify(dir)}`;
    const yaml = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: 'orders-token', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')) })}
${env}
  stuck:
    command: ${JSON.stringify(process.execPath)}
    args: [-e, 'setInterval(() => {}, 1000)']
    required: true
    start_timeout: 3s
    env:
${env}
tools:
  orders:
    get_order_status: { class: read }
profiles:
  agent:
    tools: [orders__get_order_status]
`;
    const gateway = spawnGateway(dir, yaml, {});
    gateway.ready.catch(() => undefined);
    // Both children start (the hanging one answers nothing): from here the 3 s start timeout runs.
    await waitFor(() => processesWith(marker).length >= 2 || undefined, 90_000, 'upstreams spawned');
    const spawned = Date.now();
    const code = await Promise.race([
      gateway.exited,
      new Promise((r) => setTimeout(() => r('still running'), 60_000)),
    ]);
    expect(code).not.toBe('still running');
    expect(code).not.toBe(0);
    // Promptly: the start timeout and closing the children, with room for a loaded machine.
    expect(Date.now() - spawned).toBeLessThan(20_000);
    expect(gateway.output()).toMatch(/upstream "stuck" did not start/);
    expect(gateway.output()).not.toMatch(/listening on/);
    await waitFor(() => processesWith(marker).length === 0 || undefined, 5_000, 'children gone').catch(
      () => undefined,
    );
    expect(processesWith(marker)).toEqual([]);
  });
});
