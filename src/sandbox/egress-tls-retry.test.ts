import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientHello, selfSignedFiles, withExtension } from '../../test/helpers/tls-hello.js';
import { createEgressProxy, type EgressEvent } from './egress-proxy.js';
import { classifyFirstBytes, classifyServerHello } from './tls-sni.js';

const RETRY_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';
/** A HelloRetryRequest record: TLS 1.3, TLS_AES_128_GCM_SHA256, supported_versions only. */
const HELLO_RETRY = Buffer.from(
  `160303003202000032 0303 ${RETRY_RANDOM} 00 1301 00 0006 002b00020304`.replace(/ /g, ''),
  'hex',
);
const CHANGE_CIPHER_SPEC = Buffer.from('140303000101', 'hex');

const OPENSSL = '/usr/bin/openssl';

function selfSigned(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-tls-'));
  try {
    const { key, cert } = selfSignedFiles(dir, 'api.test');
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let proxy: ReturnType<typeof createEgressProxy>;
let proxyPort = 0;
const events: EgressEvent[] = [];
let far: Server;
let farPort = 0;
/** A far side that reads and never answers, and how much reached it. */
let silent: Server;
let silentPort = 0;
let silentGot = 0;
/** What reached the far side after its HelloRetryRequest, and at all. */
const afterRetry: Buffer[] = [];
const farSaw: Buffer[] = [];

beforeAll(async () => {
  // The far side: answers the first ClientHello with a HelloRetryRequest, records what follows.
  far = createServer((socket) => {
    let data = Buffer.alloc(0);
    let retried = false;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      farSaw.push(chunk);
      if (retried) {
        afterRetry.push(chunk);
        return;
      }
      data = Buffer.concat([data, chunk]);
      if (classifyFirstBytes(data).kind === 'incomplete') return;
      retried = true;
      socket.write(HELLO_RETRY);
    });
  });
  far.listen(0, '127.0.0.1');
  await once(far, 'listening');
  farPort = (far.address() as AddressInfo).port;
  silent = createServer((socket) => socket.on('data', (chunk: Buffer) => (silentGot += chunk.length)));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  silentPort = (silent.address() as AddressInfo).port;
  proxy = createEgressProxy({
    egress: [
      `api.test:${farPort}`,
      `127.0.0.1:${farPort}`,
      `api.test:${silentPort}`,
      `127.0.0.1:${silentPort}`,
    ],
    onEvent: (e) => events.push(e),
    resolve: async () => ['127.0.0.1'],
    timeoutMs: 1000,
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  proxyPort = (proxy.address() as AddressInfo).port;
});
afterAll(() => {
  proxy.close();
  far.close();
  silent.close();
});

async function tunnel(target: string): Promise<Socket> {
  const socket = connect(proxyPort, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`CONNECT ${target} HTTP/1.1\r\n\r\n`);
  await once(socket, 'data');
  return socket;
}

/** Sends a first hello for api.test, waits for the retry, then sends `second`; what reached the far side. */
async function retryWith(second: Buffer): Promise<{ reached: Buffer; event?: EgressEvent }> {
  afterRetry.length = 0;
  events.length = 0;
  const socket = await tunnel(`api.test:${farPort}`);
  socket.write(await clientHello('api.test'));
  const [retry] = (await once(socket, 'data')) as [Buffer];
  expect(classifyServerHello(retry)).toBe('retry');
  const closed = once(socket, 'close');
  socket.write(Buffer.concat([CHANGE_CIPHER_SPEC, second]));
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1500))]);
  socket.destroy();
  return { reached: Buffer.concat(afterRetry), event: events.at(-1) };
}

describe('the second ClientHello after a HelloRetryRequest', () => {
  it('is refused, and never reaches the far side, when it names another host than the tunnel', async () => {
    const { reached, event } = await retryWith(await clientHello('other-tenant.example'));
    expect(reached.length).toBe(0);
    expect(event).toMatchObject({
      decision: 'deny',
      reason: 'second ClientHello: TLS SNI other-tenant.example differs from api.test',
    });
  });

  it('is refused when it hides its name (Encrypted Client Hello) or names none', async () => {
    const hidden = withExtension(await clientHello('api.test'), 0xfe0d, Buffer.alloc(64, 1));
    for (const second of [hidden, await clientHello()]) {
      const { reached, event } = await retryWith(second);
      expect(reached.length).toBe(0);
      expect(event).toMatchObject({
        decision: 'deny',
        reason: expect.stringContaining('second ClientHello'),
      });
    }
  });

  it('is refused when it comes with the first one, before the retry was asked for', async () => {
    // Sent at once, the second hello waits in the server's buffer for the retry it provokes.
    afterRetry.length = 0;
    events.length = 0;
    const socket = await tunnel(`api.test:${farPort}`);
    const second = await clientHello('other-tenant.example');
    socket.write(Buffer.concat([await clientHello('api.test'), CHANGE_CIPHER_SPEC, second]));
    await once(socket, 'close');
    expect(events.at(-1)).toMatchObject({
      decision: 'deny',
      reason: expect.stringContaining('second TLS handshake'),
    });
    expect(Buffer.concat(afterRetry).length).toBe(0);
    expect(farSaw.some((chunk) => chunk.includes('other-tenant'))).toBe(false);
  });

  it('holds at most 1 MiB from the client while the server has not answered, then ends the tunnel', async () => {
    events.length = 0;
    const socket = await tunnel(`api.test:${silentPort}`);
    const hello = await clientHello('api.test');
    socket.write(hello);
    const data = Buffer.concat([Buffer.from([0x17, 3, 3, 0x40, 0]), Buffer.alloc(0x4000)]);
    for (let i = 0; i < 80 && !socket.destroyed; i++) socket.write(data);
    await once(socket, 'close');
    expect(events.at(-1)).toMatchObject({ decision: 'deny', reason: expect.stringContaining('1 MiB') });
    expect(silentGot).toBeLessThan(1024 * 1024); // what came with the hello went on, the rest was held
  });

  it('goes on when it names the same host', async () => {
    const second = await clientHello('api.test');
    const { reached } = await retryWith(second);
    expect(reached).toEqual(Buffer.concat([CHANGE_CIPHER_SPEC, second]));
  });

  it.skipIf(!existsSync(OPENSSL))(
    'lets a real TLS 1.3 handshake with a retry finish, end to end through the relay',
    async () => {
      // The server takes X25519 only, the client offers a P-256 key share first: a retry is due.
      const { key, cert } = selfSigned();
      const tlsOrigin = createTlsServer({ key, cert, ecdhCurve: 'X25519', minVersion: 'TLSv1.3' }, (s) =>
        s.pipe(s),
      );
      tlsOrigin.listen(0, '127.0.0.1');
      await once(tlsOrigin, 'listening');
      // In front of it, a spy that keeps the server's first bytes: they must be a retry.
      let serverFirst: Buffer | undefined;
      const origin = createServer((socket) => {
        const inner = connect((tlsOrigin.address() as AddressInfo).port, '127.0.0.1');
        inner.once('data', (chunk: Buffer) => {
          serverFirst ??= chunk;
        });
        socket.pipe(inner).pipe(socket);
        socket.on('error', () => inner.destroy());
        inner.on('error', () => socket.destroy());
      });
      origin.listen(0, '127.0.0.1');
      await once(origin, 'listening');
      const originPort = (origin.address() as AddressInfo).port;
      const real = createEgressProxy({
        egress: [`api.test:${originPort}`, `127.0.0.1:${originPort}`],
        onEvent: (e) => events.push(e),
        resolve: async () => ['127.0.0.1'],
      });
      real.listen(0, '127.0.0.1');
      await once(real, 'listening');
      const socket = connect((real.address() as AddressInfo).port, '127.0.0.1');
      socket.write(`CONNECT api.test:${originPort} HTTP/1.1\r\n\r\n`);
      await once(socket, 'data');
      const secure = tlsConnect({
        socket,
        servername: 'api.test',
        ecdhCurve: 'P-256:X25519',
        rejectUnauthorized: false,
      });
      await once(secure, 'secureConnect');
      secure.write('ping');
      const [echo] = (await once(secure, 'data')) as [Buffer];
      expect(echo.toString()).toBe('ping');
      expect(classifyServerHello(serverFirst ?? Buffer.alloc(0))).toBe('retry');
      secure.destroy();
      tlsOrigin.close();
      await new Promise((resolve) => real.close(resolve));
      origin.close();
    },
  );
});
