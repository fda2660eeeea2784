import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { keepAliveFetch } from './http-fetch.js';

/** A server that, once `stale` is set, resets every kept-alive socket a request arrives on. */
function flakyServer(): { server: Server; url: () => string; stale: { on: boolean }; sockets: Set<Socket> } {
  const stale = { on: false };
  const served = new WeakSet<Socket>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const socket = req.socket;
    if (stale.on && served.has(socket)) {
      socket.resetAndDestroy();
      return;
    }
    served.add(socket);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.on('connection', (s) => sockets.add(s));
  return {
    server,
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    stale,
    sockets,
  };
}

describe('keepAliveFetch', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('walks past several kept-alive sockets the server reset to a fresh connection', async () => {
    const flaky = flakyServer();
    await new Promise<void>((r) => flaky.server.listen(0, '127.0.0.1', () => r()));
    const http = keepAliveFetch({ maxBodyBytes: 1024 });
    close = () => {
      http.close();
      flaky.server.close();
      for (const s of flaky.sockets) s.destroy();
    };
    // Four sockets in the pool, all idle.
    const first = await Promise.all(
      Array.from({ length: 4 }, () => http.fetch(flaky.url(), { method: 'POST', body: '{}' })),
    );
    for (const r of first) expect(await r.text()).toBe('ok');
    expect(flaky.sockets.size).toBe(4);
    // Every one of them is now dead to the server: the next request must still get through.
    flaky.stale.on = true;
    const answer = await http.fetch(flaky.url(), { method: 'POST', body: '{}' });
    expect(await answer.text()).toBe('ok');
    expect(flaky.sockets.size).toBe(5);
  });

  it('does not resend a request that failed on a fresh connection', async () => {
    const server = createServer((req) => req.socket.resetAndDestroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const http = keepAliveFetch({ maxBodyBytes: 1024 });
    let requests = 0;
    server.on('request', () => requests++);
    close = () => {
      http.close();
      server.close();
    };
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await expect(http.fetch(url, { method: 'POST', body: '{}' })).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    expect(requests).toBe(1);
  });

  it('never resends a tools/call that met a reset on a kept-alive socket', async () => {
    const flaky = flakyServer();
    await new Promise<void>((r) => flaky.server.listen(0, '127.0.0.1', () => r()));
    const http = keepAliveFetch({ maxBodyBytes: 1024 });
    let requests = 0;
    flaky.server.on('request', () => requests++);
    close = () => {
      http.close();
      flaky.server.close();
      for (const s of flaky.sockets) s.destroy();
    };
    await (await http.fetch(flaky.url(), { method: 'POST', body: '{}' })).text();
    flaky.stale.on = true;
    requests = 0;
    // The server read this call before the reset: sending it again could run the tool twice.
    const call = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"refund"}}';
    await expect(http.fetch(flaky.url(), { method: 'POST', body: call })).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    expect(requests).toBe(1);
  });

  it('never resends a request whose open answer it dropped for a cancellation', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        seen.push(body);
        // The call's answer never starts (a server sends none to a cancelled request).
        if (!body.includes('notifications/cancelled')) return;
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const http = keepAliveFetch({ maxBodyBytes: 1024 });
    close = () => {
      http.close();
      server.closeAllConnections();
      server.close();
    };
    // Warm a kept-alive socket, so the call below goes out on a reused one.
    await http.fetch(url, {
      method: 'POST',
      body: '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}}',
    });
    // Its failure is taken at once: it may come before the assertion below is reached.
    const call = http.fetch(url, { method: 'POST', body: '{"jsonrpc":"2.0","id":5,"method":"ping"}' }).then(
      () => 'answered',
      (error: unknown) => error,
    );
    await new Promise((r) => setTimeout(r, 100));
    await http.fetch(url, {
      method: 'POST',
      body: '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}',
    });
    expect(await call).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.filter((b) => b.includes('"id":5')).length).toBe(1);
  });

  it('closes a kept-alive socket left idle for idleMs', async () => {
    const sockets = new Set<Socket>();
    const closed: Socket[] = [];
    const server = createServer((_req, res) => res.end('ok'));
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => closed.push(socket));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const http = keepAliveFetch({ maxBodyBytes: 1024, idleMs: 100 });
    close = () => {
      http.close();
      server.close();
    };
    expect(await (await http.fetch(url, { method: 'POST', body: '{}' })).text()).toBe('ok');
    await new Promise((r) => setTimeout(r, 500));
    expect(closed.length).toBe(sockets.size);
  });
});
