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
});
