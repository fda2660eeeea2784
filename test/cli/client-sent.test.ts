/**
 * GatewayClient.postSoon (src/cli/client.ts): its `sent` settles only once
 * the request has left this process, so `bulkhead run` can build its jail
 * (tens of ms that hold this thread) while the gateway creates the run; and
 * it settles when the request fails, so nobody waits on it forever.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/cli/client.js';

/** A gateway in another process: prints its port, then the time each request arrived. */
const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  process.stdout.write('arrived ' + Date.now() + '\\n');
  req.resume();
  req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); });
});
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

function lines(process: ChildProcess): (prefix: string) => Promise<string> {
  let buffered = '';
  const waiting: (() => void)[] = [];
  process.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (const wake of waiting.splice(0)) wake();
  });
  return async (prefix) => {
    for (;;) {
      const line = buffered.split('\n').find((l) => l.startsWith(`${prefix} `));
      if (line) return line.slice(prefix.length + 1);
      await new Promise<void>((r) => waiting.push(r));
    }
  };
}

describe('GatewayClient.postSoon', () => {
  it('settles `sent` once the request has left: a server in another process has it while this thread is busy', async () => {
    child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    const next = lines(child);
    const port = Number(await next('port'));
    const client = new GatewayClient({ gateway: `http://127.0.0.1:${port}`, token: 'token' });
    const { answer, sent } = client.postSoon<{ ok: boolean }>('/api/runs', { profile: 'p' });
    await sent;
    const busyFrom = Date.now();
    // This thread is held as a jail's construction holds it: nothing more leaves until it is done.
    while (Date.now() - busyFrom < 400) {
      // busy
    }
    const arrived = Number(await next('arrived'));
    expect(arrived).toBeLessThan(busyFrom + 200);
    await expect(answer).resolves.toEqual({ ok: true });
  });

  it('settles `sent` when no gateway answers, and the answer is the usual error', async () => {
    // A port that was free a moment ago: nothing listens on it.
    const probe = createServer();
    const port = await new Promise<number>((r) =>
      probe.listen(0, '127.0.0.1', () => r((probe.address() as { port: number }).port)),
    );
    await new Promise((r) => probe.close(r));
    const client = new GatewayClient({ gateway: `http://127.0.0.1:${port}`, token: 'token' });
    const { answer, sent } = client.postSoon('/api/runs', {});
    await expect(answer).rejects.toMatchObject({ code: 'gateway_unreachable' });
    await expect(sent).resolves.toBeUndefined();
  });
});
