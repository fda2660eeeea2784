import { execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEgressProxy } from './egress-proxy.js';
import { createRelay, defaultRelay, type Relay, type RelayKind, SOCAT } from './egress-relay.js';
import { PYTHON3 } from './egress-splice.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function listening(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Everything a socket receives until the far side's EOF. */
function readToEnd(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return once(socket, 'end').then(() => Buffer.concat(chunks));
}

/** A proxy whose relay counts the tunnels it took over. */
function countingProxy(kind: RelayKind, originPort: number, oneWay?: 'splice' | 'socat') {
  const real = createRelay({ kind, ...(oneWay ? { oneWay } : {}) });
  const counts = { handed: 0, forwarded: 0 };
  const relay: Relay = {
    take: async (client, upstream) => {
      const taken = await real.take(client, upstream);
      if (taken) counts.handed++;
      return taken;
    },
    forward: async (from, to, length) => {
      const handle = await real.forward(from, to, length);
      if (handle) counts.forwarded++;
      return handle;
    },
    closeAll: () => real.closeAll(),
  };
  const proxy = createEgressProxy({ egress: [`127.0.0.1:${originPort}`], onEvent: () => undefined, relay });
  return { proxy, counts };
}

const GREETING = 'SSH-2.0-bulkhead-test\r\n';

/** An origin that reads all the client sends, and only after the client's EOF answers `reply` and closes. */
function replyAfterEof(reply: Buffer): { origin: Server; received: () => Buffer | undefined } {
  let received: Buffer | undefined;
  const origin = createServer({ allowHalfOpen: true }, (socket) => {
    void readToEnd(socket).then((all) => {
      received = all;
      socket.end(reply);
    });
  });
  return { origin, received: () => received };
}

/** A CONNECT tunnel through the proxy, past its 200 and the checked first bytes (not TLS, not HTTP). */
async function openTunnel(proxyPort: number, originPort: number): Promise<Socket> {
  const socket = connect({ port: proxyPort, host: '127.0.0.1', allowHalfOpen: true });
  socket.write(`CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\n\r\n`);
  const [reply] = (await once(socket, 'data')) as [Buffer];
  expect(reply.toString()).toMatch(/^HTTP\/1\.1 200/);
  socket.write(GREETING);
  return socket;
}

describe('native relay for allowed tunnels', () => {
  it('picks the long-lived splice relay where python3 is installed, else socat', () => {
    expect(defaultRelay((path) => path === PYTHON3 || path === SOCAT)).toBe('splice');
    expect(defaultRelay((path) => path === SOCAT)).toBe('socat');
  });

  it('splice: once the relay has started, a tunnel goes through it both ways, with no process of its own', async () => {
    const up = randomBytes(8 * 1024 * 1024);
    const down = randomBytes(24 * 1024 * 1024);
    const { origin, received } = replyAfterEof(down);
    const originPort = await listening(origin);
    const relay = createRelay({ kind: 'splice' });
    // Ready, not just started: until then socat copies (under load python takes a while).
    expect(await relay.warm?.()).toBe(true);
    const proxy = createEgressProxy({ egress: [`127.0.0.1:${originPort}`], onEvent: () => undefined, relay });
    const children = () => execSync(`ps -o args= --ppid ${process.pid}`).toString();
    expect(children()).toContain('splice-serve.py');
    const socket = await openTunnel(await listening(proxy), originPort);
    const back = readToEnd(socket);
    socket.end(up);
    // Sampled while the answer moves: no socat was started for this tunnel.
    const during = await new Promise<string>((resolve) => socket.once('data', () => resolve(children())));
    const reply = await back;
    expect(during).not.toContain('socat');
    expect(sha256(received()?.subarray(GREETING.length) ?? Buffer.alloc(0))).toBe(sha256(up));
    expect(sha256(reply)).toBe(sha256(down));
    socket.destroy();
    proxy.close();
    origin.close();
  });

  for (const kind of ['splice', 'socat'] as const) {
    it(`${kind}: carries 16 MB each way intact, the client's EOF reaching the origin before its reply`, async () => {
      const up = randomBytes(16 * 1024 * 1024);
      const down = randomBytes(16 * 1024 * 1024);
      // The origin answers only after the client's half-close has come through the relay.
      const { origin, received } = replyAfterEof(down);
      const originPort = await listening(origin);
      const { proxy, counts } = countingProxy(kind, originPort);
      const socket = await openTunnel(await listening(proxy), originPort);
      const back = readToEnd(socket);
      socket.end(up);
      const reply = await back;
      expect(counts.handed).toBe(1);
      expect(received()?.subarray(0, GREETING.length).toString()).toBe(GREETING);
      expect(sha256(received()?.subarray(GREETING.length) ?? Buffer.alloc(0))).toBe(sha256(up));
      expect(sha256(reply)).toBe(sha256(down));
      socket.destroy();
      proxy.close();
      origin.close();
    });

    it(`${kind}: the origin's EOF reaches the client while the client is still sending`, async () => {
      const down = randomBytes(8 * 1024 * 1024);
      const up = randomBytes(8 * 1024 * 1024);
      let received: Promise<Buffer> | undefined;
      const origin = createServer({ allowHalfOpen: true }, (socket) => {
        received = readToEnd(socket);
        socket.end(down); // done talking at once, still listening
      });
      const originPort = await listening(origin);
      const { proxy, counts } = countingProxy(kind, originPort);
      const socket = await openTunnel(await listening(proxy), originPort);
      const reply = await readToEnd(socket); // the origin's EOF arrives with the client's half still open
      expect(socket.writable).toBe(true);
      socket.end(up);
      const all = await (received as Promise<Buffer>);
      expect(counts.handed).toBe(1);
      expect(sha256(reply)).toBe(sha256(down));
      expect(sha256(all.subarray(GREETING.length))).toBe(sha256(up));
      socket.destroy();
      proxy.close();
      origin.close();
    });
  }

  for (const oneWay of ['splice', 'socat'] as const)
    it(`plain HTTP (${oneWay}): large answer bodies go through the relay one way, intact, also many at once; a small one through node`, async () => {
      const big = randomBytes(4 * 1024 * 1024);
      const origin = createHttpServer((req, res) => {
        if (req.url === '/small') res.end('small answer');
        else if (req.url === '/open')
          res.end(big); // chunked: no length, relayed to the EOF
        else res.writeHead(200, { 'content-length': big.length }).end(big);
      });
      const originPort = await listening(origin);
      const { proxy, counts } = countingProxy('socat', originPort, oneWay);
      const proxyPort = await listening(proxy);
      const get = (path: string) =>
        new Promise<{ body: Buffer; connection: string | undefined }>((resolve, reject) =>
          httpGet(
            { host: '127.0.0.1', port: proxyPort, path: `http://127.0.0.1:${originPort}${path}` },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () =>
                resolve({ body: Buffer.concat(chunks), connection: res.headers.connection }),
              );
            },
          ).on('error', reject),
        );
      const sized = await get('/sized');
      expect(sha256(sized.body)).toBe(sha256(big));
      expect(sized.connection).toBe('close');
      expect(counts.forwarded).toBe(1);
      expect(sha256((await get('/open')).body)).toBe(sha256(big));
      expect(counts.forwarded).toBe(2);
      expect((await get('/small')).body.toString()).toBe('small answer');
      expect(counts.forwarded).toBe(2);
      // Eight answers at once, through the one splice relay process once it has started.
      if (oneWay === 'splice') {
        await expect
          .poll(() => execSync(`ps -o args= --ppid ${process.pid}`).toString())
          .toContain('splice-serve.py');
        await new Promise((r) => setTimeout(r, 300));
      }
      const many = await Promise.all(Array.from({ length: 8 }, (_, i) => get(i % 2 ? '/open' : '/sized')));
      for (const answer of many) expect(sha256(answer.body)).toBe(sha256(big));
      expect(counts.forwarded).toBe(10);
      proxy.close();
      origin.close();
    });

  it('falls back to piping in node where no relay is installed or too many relays run', async () => {
    expect(defaultRelay(() => false)).toBe('none');
    const socket = () => ({ pause: () => undefined, destroyed: false }) as unknown as Socket;
    const none = createRelay({ exists: () => false });
    expect(await none.take(socket(), socket())).toBe(false);
    const full = createRelay({ max: 0, kind: 'socat' });
    expect(await full.take({} as never, {} as never)).toBe(false);
    expect(await none.forward(socket(), socket())).toBeUndefined();
    expect(await full.forward(socket(), socket())).toBeUndefined();
  });
});
