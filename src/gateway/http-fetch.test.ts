import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { keepAliveFetch } from './http-fetch.js';
import { largeMessages } from './large-messages.js';

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

describe('large answers of one upstream with the workers one at a time', () => {
  const MB = 1024 * 1024;
  let close: (() => void) | undefined;
  afterEach(() => close?.());
  /** An SSE answer to tools/call `id` whose text is `size` bytes of `fill`, sent in 64 KiB writes. */
  const answer = (id: number, fill: string, size: number) =>
    Buffer.from(
      `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: fill.repeat(size) }] } })}\n\n`,
    );

  it('pauses a second large answer while the first is with a worker, then cuts both correctly', async () => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const id = (JSON.parse(body) as { id: number }).id;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const bytes = answer(id, id === 1 ? 'a' : 'b', 2 * MB);
        for (let i = 0; i < bytes.length; i += 64 * 1024) res.write(bytes.subarray(i, i + 64 * 1024));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // The real gate and worker; only the worker's start is held, so the first answer stays inside.
    const large = largeMessages(() => 1000);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const realCut = large.cut;
    let cuts = 0;
    large.cut = async (...args) => {
      if (cuts++ === 0) await held;
      return realCut(...args);
    };
    const http = keepAliveFetch({ maxBodyBytes: 64 * MB, large });
    close = () => {
      http.close();
      server.close();
    };
    const call = (id: number) =>
      http
        .fetch(url, {
          method: 'POST',
          body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'blob' } }),
        })
        .then((r) => r.text());
    const texts = Promise.all([call(1), call(2)]);
    // The other answer pauses mid-way (or, whole already, waits its turn): it never enters beside the first.
    const deadline = Date.now() + 20_000;
    while (large.gate.counts.waits + large.gate.counts.queued === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect(large.gate.counts.waits + large.gate.counts.queued).toBeGreaterThan(0);
    expect(cuts).toBe(1);
    release();
    const [first, second] = await texts;
    for (const [text, fill] of [
      [first, 'a'],
      [second, 'b'],
    ] as const) {
      const data = JSON.parse((text ?? '').split('data: ')[1] ?? '') as {
        result: { content: { text: string }[] };
      };
      expect(data.result.content[0]?.text).toBe(fill.repeat(1001));
    }
    expect(large.gate.counts.peak).toBe(1);
    expect(cuts).toBe(2);
  }, 60_000);
});
