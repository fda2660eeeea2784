import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientHello, withExtension } from '../../test/helpers/tls-hello.js';
import { createEgressProxy, type EgressEvent } from './egress-proxy.js';

/** The far side: records every byte that reaches it (an allowed host behind a shared front end). */
let sink: Server;
let sinkPort = 0;
const received: Buffer[] = [];
let proxy: ReturnType<typeof createEgressProxy>;
let proxyPort = 0;
const events: EgressEvent[] = [];

beforeAll(async () => {
  sink = createServer((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)));
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  sinkPort = (sink.address() as AddressInfo).port;
  proxy = createEgressProxy({
    egress: [`api.test:${sinkPort}`, `127.0.0.1:${sinkPort}`],
    onEvent: (e) => events.push(e),
    resolve: async () => ['127.0.0.1'],
    timeoutMs: 800,
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  proxyPort = (proxy.address() as AddressInfo).port;
});
afterAll(() => {
  proxy.close();
  sink.close();
});

/** Opens an allowed tunnel to api.test, sends `parts` in that order, and returns what reached the far side. */
async function throughTunnel(parts: (string | Buffer)[]): Promise<{ reached: string; event?: EgressEvent }> {
  received.length = 0;
  events.length = 0;
  const socket = connect(proxyPort, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`CONNECT api.test:${sinkPort} HTTP/1.1\r\n\r\n`);
  await once(socket, 'data');
  const closed = once(socket, 'close');
  for (const part of parts) {
    if (!socket.destroyed) socket.write(part);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1500))]);
  // What was let through has had time to arrive.
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  return { reached: Buffer.concat(received).toString('latin1'), event: events.at(-1) };
}

const rest = '\r\nHost: other-tenant.example\r\nConnection: close\r\n\r\n';

describe("a tunnel's first bytes, judged before they go out", () => {
  it.each([
    ['two spaces (nginx)', `GET  / HTTP/1.1${rest}`],
    ['tabs and a trailing blank (python)', `GET\t/\tHTTP/1.1 ${rest}`],
    ['a leading blank', ` GET / HTTP/1.1${rest}`],
    ['a lower-case version', `GET / http/1.1${rest}`],
    ['a bare CR for line ends', 'GET / HTTP/1.1\rHost: other-tenant.example\r\r'],
    ['HTTP/0.9 with an absolute URL', 'GET http://other-tenant.example/\r\n'],
    ['a request line past 8 KiB (node, Go)', `GET /${'a'.repeat(9000)} HTTP/1.1${rest}`],
  ])('refuses an HTTP request written loosely, %s, and sends none of it', async (_name, request) => {
    const { reached, event } = await throughTunnel([request]);
    expect(reached).toBe('');
    expect(event).toMatchObject({ decision: 'deny', reason: expect.stringContaining('written loosely') });
  });

  it('refuses a PROXY protocol header, v1 and v2 (also sent in pieces), that would speak for another address', async () => {
    const v2 = Buffer.from('0d0a0d0a000d0a515549540a2111000c7f0000017f000001000100020000', 'hex');
    for (const parts of [
      ['PROXY TCP4 10.0.0.1 10.0.0.2 1 80\r\n', `GET / HTTP/1.1${rest}`],
      [v2.subarray(0, 5), v2.subarray(5)],
    ]) {
      const { reached, event } = await throughTunnel(parts);
      expect(reached).toBe('');
      expect(event).toMatchObject({ decision: 'deny', reason: 'a PROXY protocol header' });
    }
  });

  it('still passes a protocol that is not HTTP: an SSH banner with a comment', async () => {
    const { reached } = await throughTunnel(['SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n']);
    expect(reached).toBe('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n');
  });

  it("refuses TLS with Encrypted Client Hello, though its clear SNI is the tunnel's host", async () => {
    const hello = withExtension(await clientHello('api.test'), 0xfe0d, Buffer.alloc(64, 1));
    const { reached, event } = await throughTunnel([hello]);
    expect(reached).toBe('');
    expect(event).toMatchObject({
      decision: 'deny',
      reason: expect.stringContaining('Encrypted Client Hello'),
    });
  });

  it('refuses TLS that shows no name otherwise: an SSLv2-format hello, a first record that is not a handshake', async () => {
    const v2 = Buffer.concat([Buffer.from('801c01030300030000001000002f', 'hex'), Buffer.alloc(16, 7)]);
    for (const first of [v2, Buffer.from('150303000202280a', 'hex')]) {
      const { reached, event } = await throughTunnel([first]);
      expect(reached).toBe('');
      expect(event).toMatchObject({ decision: 'deny' });
    }
  });
});
