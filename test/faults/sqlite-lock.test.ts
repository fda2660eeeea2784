/**
 * The store can stall without freezing the gateway (issue 16, point 5):
 * another process holds the SQLite write lock for 15 s. A call that needs
 * the store fails closed quickly with `store_unavailable`, and the health
 * endpoint answers in well under a second saying the store is locked.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { denialCode, ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { killAll, ORDERS_ENV, ordersSqlitePolicy, spawnGateway, waitFor } from './processes.js';

let gw: TestGateway | undefined;
afterAll(async () => {
  await gw?.close();
  killAll();
});

/** A real second process that takes the write lock of `file` (creating it) and keeps it `ms`. */
async function holdLock(file: string, ms: number): Promise<{ kill(): void }> {
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)});
       db.exec('CREATE TABLE IF NOT EXISTS other (a)'); db.exec('BEGIN IMMEDIATE'); db.exec('INSERT INTO other VALUES (1)');
       console.log('locked'); setTimeout(() => { db.exec('ROLLBACK'); process.exit(0); }, ${ms});`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  holder.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(() => out.includes('locked'), 10_000, 'lock taken');
  return { kill: () => holder.kill('SIGKILL') };
}

describe('a SQLite write lock held by another process', () => {
  it('refuses calls quickly with store_unavailable and keeps health answering in milliseconds', async () => {
    const dir = tempDir('bulkhead-lock-');
    gw = await startTestGateway(
      ordersSqlitePolicy(dir, ['get_order_status'], '  agent:\n    tools: [orders__get_order_status]\n'),
      { dir, env: ORDERS_ENV },
    );
    const agent = await gw.agent('agent');
    // A real second process takes the write lock and keeps it for 15 s.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(join(dir, 'bulkhead.db'))});
         db.exec('BEGIN IMMEDIATE'); db.prepare("INSERT INTO replicas VALUES ('holder', 'x', 1, 0, 0)").run();
         console.log('locked'); setTimeout(() => { db.exec('ROLLBACK'); process.exit(0); }, 15000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    holder.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes('locked'), 10_000, 'lock taken');
    try {
      const started = Date.now();
      const call = agent.client.callTool({
        name: 'orders__get_order_status',
        arguments: { order_id: 'ORD-000001' },
      });
      await new Promise((r) => setTimeout(r, 100));
      const healthStarted = Date.now();
      const health = await fetch(`${gw.gateway.url}/api/health`, {
        headers: { authorization: `Bearer ${gw.gateway.localToken}` },
      });
      const healthMs = Date.now() - healthStarted;
      const body = (await health.json()) as { ok: boolean; problems: string[] };
      // Generous bound: a blocked event loop answers in seconds, not hundreds of ms.
      expect(healthMs).toBeLessThan(1_000);
      expect(body.ok).toBe(false);
      expect(body.problems.join(' ')).toContain('SQLite write lock');
      const ready = await fetch(`${gw.gateway.url}/readyz`);
      expect(ready.status).toBe(503);
      const result = await call;
      expect(denialCode(result)).toBe('store_unavailable');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      holder.kill('SIGKILL');
    }
    // Once the lock is gone, the gateway serves again.
    await waitFor(
      async () => (await fetch(`${gw?.gateway.url}/readyz`)).status === 200,
      10_000,
      'ready again',
    );
    const after = await agent.client.callTool({
      name: 'orders__get_order_status',
      arguments: { order_id: 'ORD-000001' },
    });
    expect(denialCode(after)).toBeUndefined();
  }, 60_000);
});

describe('a SQLite write lock held while bulkhead gateway starts', () => {
  it('exits non-zero within seconds, saying another process holds the lock', async () => {
    const dir = tempDir('bulkhead-lock-start-');
    const lock = await holdLock(join(dir, 'bulkhead.db'), 60_000);
    try {
      const started = Date.now();
      const gateway = spawnGateway(
        dir,
        'version: 1\nstore: { sqlite: ./bulkhead.db }\nupstreams: {}\nprofiles:\n  a: { tools: [] }\n',
        {},
      );
      gateway.ready.catch(() => undefined);
      const code = await Promise.race([
        gateway.exited,
        new Promise((r) => setTimeout(() => r('still running'), 45_000)),
      ]);
      expect(code).not.toBe('still running');
      expect(code).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(gateway.output()).toMatch(/another process held its write lock/);
      expect(gateway.output()).not.toMatch(/listening on/);
    } finally {
      lock.kill();
    }
  }, 90_000);
});
