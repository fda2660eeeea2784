/**
 * Attacks on the forwarding of plain HTTP (egress-forward.ts), proxied and inside a CONNECT
 * tunnel: once a request is checked, its answer moves through the native relay, so the attacker
 * tries to get a second, unchecked request to the far side behind or inside the first. The far
 * side here is a raw recorder that answers the first head on a connection and keeps reading
 * (a server that would serve whatever else came), so anything forwarded is seen.
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_FROM } from './egress-forward.js';
import { createEgressProxy, type EgressEvent } from './egress-proxy.js';

/** Every upstream connection's bytes, in arrival order. */
const seen: Buffer[][] = [];
let origin: Server;
let originPort = 0;
/** The answer body's length: over NATIVE_FROM for the relay path, tiny for node's copy. */
let answerSize = 0;

beforeAll(async () => {
  origin = createServer((socket) => {
    const chunks: Buffer[] = [];
    seen.push(chunks);
    let answered = false;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (!answered && Buffer.concat(chunks).includes('\r\n\r\n')) {
        answered = true;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${answerSize}\r\nConnection: keep-alive\r\n\r\n`);
        // Half now, half a little later: a client's next write lands while the answer streams.
        const half = Math.floor(answerSize / 2);
        socket.write(Buffer.alloc(half, 0x61));
        setTimeout(() => socket.write(Buffer.alloc(answerSize - half, 0x62)), 150);
      }
    });
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  originPort = (origin.address() as AddressInfo).port;
});
afterAll(() => origin.close());

async function startProxy() {
  const events: EgressEvent[] = [];
  const proxy = createEgressProxy({
    egress: [`api.test:${originPort}`, `127.0.0.1:${originPort}`],
    onEvent: (e) => events.push(e),
    resolve: async () => ['127.0.0.1'],
    timeoutMs: 2000,
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const port = (proxy.address() as AddressInfo).port;
  return { port, events, close: () => new Promise((r) => proxy.close(r)) };
}

/** Opens a client connection: plain to the proxy, or through an allowed CONNECT tunnel. */
async function open(port: number, mode: 'proxy' | 'tunnel'): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  if (mode === 'tunnel') {
    socket.write(`CONNECT api.test:${originPort} HTTP/1.1\r\nHost: api.test:${originPort}\r\n\r\n`);
    const [reply] = (await once(socket, 'data')) as [Buffer];
    expect(reply.toString()).toMatch(/^HTTP\/1\.1 200/);
  }
  return socket;
}

/** Whether `text` holds a whole final answer (past any 1xx), by its Content-Length. */
function complete(text: string): boolean {
  const final = text.replace(/^(HTTP\/1\.1 1\d\d [^\r]*\r\n\r\n)+/, '');
  const end = final.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: *(\d+)/i.exec(final.slice(0, end));
  return end >= 0 && length !== null && final.length - end - 4 >= Number(length[1]);
}

/**
 * Sends `parts` (one write each, a pause between) and collects what comes back until the proxy
 * closes or, like a client told `Connection: close`, the whole answer is in.
 */
async function exchange(socket: Socket, parts: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    if (complete(Buffer.concat(chunks).toString('latin1'))) done();
  });
  socket.once('close', () => done());
  for (const part of parts) {
    if (socket.destroyed) break;
    socket.write(part);
    await new Promise((r) => setTimeout(r, 30));
  }
  await Promise.race([finished, new Promise((r) => setTimeout(r, 3000))]);
  socket.destroy();
  // Let anything forwarded late reach the recorder.
  await new Promise((r) => setTimeout(r, 50));
  return Buffer.concat(chunks).toString('latin1');
}

/** The request heads the far side received on each connection, and what followed each body. */
function received(): { heads: string[]; leftovers: string[] } {
  const heads: string[] = [];
  const leftovers: string[] = [];
  for (const chunks of seen) {
    const data = Buffer.concat(chunks).toString('latin1');
    if (data.length === 0) continue;
    const end = data.indexOf('\r\n\r\n');
    const head = data.slice(0, end);
    heads.push(head);
    let rest = data.slice(end + 4);
    const length = /\r\ncontent-length: (\d+)/i.exec(head);
    if (length) rest = rest.slice(Number(length[1]));
    else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      for (;;) {
        const line = rest.indexOf('\r\n');
        const size = Number.parseInt(rest.slice(0, line), 16);
        rest = rest.slice(line + 2 + size + 2);
        if (size === 0 || Number.isNaN(size)) break;
      }
    }
    leftovers.push(rest);
  }
  return { heads, leftovers };
}

const target = (mode: 'proxy' | 'tunnel', host = `api.test:${originPort}`) =>
  mode === 'proxy' ? `http://${host}/` : '/';

for (const size of ['relayed', 'copied by node'] as const) {
  for (const mode of ['proxy', 'tunnel'] as const) {
    describe(`smuggling past a checked request (${mode}, answer ${size})`, () => {
      let proxy: Awaited<ReturnType<typeof startProxy>>;
      let host = '';
      beforeAll(async () => {
        answerSize = size === 'relayed' ? NATIVE_FROM * 2 : 16;
        proxy = await startProxy();
        host = `api.test:${originPort}`;
      });
      afterAll(() => proxy.close());
      const fresh = () => {
        seen.length = 0;
        proxy.events.length = 0;
      };

      it('forwards one request, answers with Connection: close and closes', async () => {
        fresh();
        const out = await exchange(await open(proxy.port, mode), [
          `GET ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        ]);
        expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(out).toContain('\r\nConnection: close\r\n');
        expect(out).not.toMatch(/keep-alive/i);
        expect(out.length - out.indexOf('\r\n\r\n') - 4).toBe(answerSize);
        const { heads, leftovers } = received();
        expect(heads).toHaveLength(1);
        expect(heads[0]).toMatch(/\r\nConnection: close(\r\n|$)/);
        expect(leftovers).toEqual(['']);
      });

      it('never forwards a second request pipelined in the same write', async () => {
        fresh();
        await exchange(await open(proxy.port, mode), [
          `GET ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\n\r\n` +
            `GET ${target(mode, 'other.test')} HTTP/1.1\r\nHost: other.test\r\n\r\n`,
        ]);
        // The second request ends the connection: the first may or may not have gone out by then.
        const { heads, leftovers } = received();
        expect(heads.length).toBeLessThanOrEqual(1);
        expect(heads.join()).not.toContain('other.test');
        expect(leftovers.every((rest) => rest === '')).toBe(true);
        expect(proxy.events.some((e) => e.decision === 'deny' && /second request/.test(e.reason))).toBe(true);
      });

      it('never forwards a second request sent while the answer streams', async () => {
        fresh();
        await exchange(await open(proxy.port, mode), [
          `GET ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
          `GET ${target(mode, 'other.test')} HTTP/1.1\r\nHost: other.test\r\n\r\n`,
        ]);
        const { heads, leftovers } = received();
        expect(heads).toHaveLength(1);
        expect(heads.join()).not.toContain('other.test');
        expect(leftovers).toEqual(['']);
        expect(proxy.events.some((e) => e.decision === 'deny' && /second request/.test(e.reason))).toBe(true);
      });

      it('refuses Content-Length with Transfer-Encoding (desync) and forwards nothing', async () => {
        fresh();
        const out = await exchange(await open(proxy.port, mode), [
          `POST ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n` +
            `0\r\n\r\nGET ${target(mode, 'other.test')} HTTP/1.1\r\nHost: other.test\r\n\r\n`,
        ]);
        expect(out).not.toMatch(/^HTTP\/1\.1 200/);
        expect(received().heads).toEqual([]);
      });

      it('sends a body that carries a request as a body, framed by its parsed length', async () => {
        fresh();
        const inner = 'GET / HTTP/1.1\r\nHost: other.test\r\n\r\n';
        for (const framing of ['length', 'chunked'] as const) {
          seen.length = 0;
          const body =
            framing === 'length'
              ? `Content-Length: ${inner.length}\r\n\r\n${inner}`
              : `Transfer-Encoding: chunked\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`;
          await exchange(await open(proxy.port, mode), [
            `POST ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\n${body}`,
          ]);
          const { heads, leftovers } = received();
          expect(heads, framing).toHaveLength(1);
          expect(heads[0], framing).not.toContain('other.test');
          expect(leftovers, framing).toEqual(['']);
          expect(Buffer.concat(seen[0] ?? []).toString('latin1'), framing).toContain(inner);
        }
      });

      it('does not let a short Content-Length leave the rest of the body as a request', async () => {
        fresh();
        await exchange(await open(proxy.port, mode), [
          `POST ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\n\r\nokGET ${target(mode, 'other.test')} HTTP/1.1\r\nHost: other.test\r\n\r\n`,
        ]);
        const { heads, leftovers } = received();
        expect(heads.length).toBeLessThanOrEqual(1);
        expect(heads.join()).not.toContain('other.test');
        expect(leftovers.every((rest) => rest === '')).toBe(true);
      });

      it('answers Expect: 100-continue itself and forwards only the one request', async () => {
        fresh();
        const out = await exchange(await open(proxy.port, mode), [
          `POST ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`,
          'hello',
        ]);
        expect(out).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
        const { heads, leftovers } = received();
        expect(heads).toHaveLength(1);
        expect(heads[0]).not.toMatch(/expect/i);
        expect(leftovers).toEqual(['']);
      });

      it('closes an HTTP/1.0 keep-alive connection after one request', async () => {
        fresh();
        await exchange(await open(proxy.port, mode), [
          `GET ${target(mode)} HTTP/1.0\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`,
          `GET ${target(mode, 'other.test')} HTTP/1.0\r\nHost: other.test\r\nConnection: keep-alive\r\n\r\n`,
        ]);
        const { heads } = received();
        expect(heads).toHaveLength(1);
        expect(heads[0]).not.toMatch(/keep-alive/i);
        expect(heads.join()).not.toContain('other.test');
      });

      for (const upgrade of ['websocket', 'h2c']) {
        it(`refuses an upgrade to ${upgrade} and forwards nothing`, async () => {
          fresh();
          const out = await exchange(await open(proxy.port, mode), [
            `GET ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: ${upgrade}\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          ]);
          expect(out).not.toMatch(/^HTTP\/1\.1 (101|200)/);
          expect(received().heads).toEqual([]);
          expect(proxy.events.some((e) => e.decision === 'deny' && /upgrade/.test(e.reason))).toBe(true);
        });
      }

      it('drops a Connection: Upgrade without Upgrade, and every hop-by-hop header it names', async () => {
        fresh();
        await exchange(await open(proxy.port, mode), [
          `GET ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eDp5\r\n\r\n`,
        ]);
        const { heads } = received();
        expect(heads).toHaveLength(1);
        expect(heads[0]).not.toMatch(/upgrade|x-secret|keep-alive|proxy-/i);
      });

      it('refuses a head past the size limit and forwards nothing', async () => {
        fresh();
        const out = await exchange(await open(proxy.port, mode), [
          `GET ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
        ]);
        expect(out).not.toMatch(/^HTTP\/1\.1 200/);
        expect(received().heads).toEqual([]);
      });

      it('sends only the checked Host, whatever Host headers the client wrote', async () => {
        fresh();
        const out = await exchange(await open(proxy.port, mode), [
          `GET ${target(mode)} HTTP/1.1\r\nHost: ${host}\r\nHost: other.test\r\n\r\n`,
        ]);
        const { heads } = received();
        // Node keeps the first Host; the tunnel checks it; the far side sees the checked one alone.
        if (heads.length > 0) {
          expect(heads[0]?.match(/\r\nhost:/gi)).toHaveLength(1);
          expect(heads[0]).toContain(`\r\nHost: ${host}`);
        } else expect(out).not.toMatch(/^HTTP\/1\.1 200/);
        expect(heads.join()).not.toContain('other.test');
      });
    });
  }
}

describe('absolute URI against the Host header', () => {
  it('proxy: sends the absolute URI host as Host, never the header the client wrote', async () => {
    answerSize = 16;
    const proxy = await startProxy();
    seen.length = 0;
    await exchange(await open(proxy.port, 'proxy'), [
      `GET http://api.test:${originPort}/x HTTP/1.1\r\nHost: other.test\r\n\r\n`,
    ]);
    const { heads } = received();
    expect(heads).toHaveLength(1);
    expect(heads[0]).toBe(`GET /x HTTP/1.1\r\nHost: api.test:${originPort}\r\nConnection: close`);
    await proxy.close();
  });

  it('tunnel: refuses an absolute URI naming another host than the tunnel, Host header or not', async () => {
    answerSize = 16;
    const proxy = await startProxy();
    seen.length = 0;
    const out = await exchange(await open(proxy.port, 'tunnel'), [
      `GET http://other.test/ HTTP/1.1\r\nHost: api.test:${originPort}\r\n\r\n`,
    ]);
    expect(out).toMatch(/^HTTP\/1\.1 403/);
    expect(received().heads).toEqual([]);
    await proxy.close();
  });

  it('tunnel: refuses HTTP/2 prior knowledge', async () => {
    answerSize = 16;
    const proxy = await startProxy();
    seen.length = 0;
    await exchange(await open(proxy.port, 'tunnel'), ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']);
    expect(received().heads).toEqual([]);
    await proxy.close();
  });
});
