import { once } from 'node:events';
import { createServer as createHttpServer, request } from 'node:http';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEgressProxy, type EgressEvent, type Resolver } from './egress-proxy.js';

/** A TCP server on the host's loopback that records what reaches it. */
let sink: Server;
let sinkPort = 0;
const received: Buffer[] = [];
let web: ReturnType<typeof createHttpServer>;
let webPort = 0;

beforeAll(async () => {
  sink = createServer((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)));
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  sinkPort = (sink.address() as AddressInfo).port;
  web = createHttpServer((req, res) => res.end(`hello ${req.headers.host} ${req.url}`));
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  webPort = (web.address() as AddressInfo).port;
});
afterAll(() => {
  sink.close();
  web.close();
});

async function startProxy(egress: string[], resolve: Resolver) {
  const events: EgressEvent[] = [];
  const proxy = createEgressProxy({ egress, onEvent: (e) => events.push(e), resolve, timeoutMs: 2000 });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const port = (proxy.address() as AddressInfo).port;
  return { proxy, port, events, close: () => new Promise((r) => proxy.close(r)) };
}

/** Sends a CONNECT and resolves with the status line's code and the tunnel socket. */
async function connectVia(proxyPort: number, target: string): Promise<{ status: number; socket: Socket }> {
  const socket = connect(proxyPort, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  const [head] = (await once(socket, 'data')) as [Buffer];
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(head.toString())?.[1]), socket };
}

const loopback: Resolver = async () => ['127.0.0.1'];

describe('egress proxy', () => {
  it('resolves each name once and connects to the address it checked (no rebinding)', async () => {
    const answers = ['127.0.0.1', '169.254.169.254'];
    let lookups = 0;
    const rebinding: Resolver = async () => [answers[Math.min(lookups++, 1)]!];
    const { port, close } = await startProxy([`rebind.test:${webPort}`, `127.0.0.1:${webPort}`], rebinding);
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: `http://rebind.test:${webPort}/x` }, (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(body).toBe(`hello rebind.test:${webPort} /x`);
    expect(lookups).toBe(1);
    await close();
  });

  it('sends the checked host as Host, whatever Host header the client wrote (no virtual-host fronting)', async () => {
    const { port, close } = await startProxy([`127.0.0.1:${webPort}`], loopback);
    const body = await new Promise<string>((resolve, reject) => {
      request(
        {
          host: '127.0.0.1',
          port,
          path: `http://127.0.0.1:${webPort}/y`,
          headers: { host: 'internal.example' },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve(text));
        },
      )
        .on('error', reject)
        .end();
    });
    expect(body).toBe(`hello 127.0.0.1:${webPort} /y`);
    await close();
  });

  it('refuses a name when any of its addresses is internal', async () => {
    const { port, events, close } = await startProxy(['mixed.test:443'], async () => [
      '93.184.216.34',
      '10.0.0.1',
    ]);
    const { status } = await connectVia(port, 'mixed.test:443');
    expect(status).toBe(403);
    expect(events.at(-1)).toMatchObject({ decision: 'deny', address: '10.0.0.1' });
    await close();
  });

  it('refuses a TLS tunnel whose SNI names another host (domain fronting)', async () => {
    received.length = 0;
    const { port, events, close } = await startProxy(
      [`api.test:${sinkPort}`, `127.0.0.1:${sinkPort}`],
      loopback,
    );
    const { status, socket } = await connectVia(port, `api.test:${sinkPort}`);
    expect(status).toBe(200);
    const tls = tlsConnect({ socket, servername: 'other.test' });
    tls.on('error', () => undefined);
    await once(socket, 'close');
    expect(received).toEqual([]);
    expect(events.at(-1)).toMatchObject({ decision: 'deny', sni: 'other.test' });
    await close();
  });

  it('forwards a TLS tunnel whose SNI is the CONNECT host', async () => {
    received.length = 0;
    const { port, events, close } = await startProxy(
      [`api.test:${sinkPort}`, `127.0.0.1:${sinkPort}`],
      loopback,
    );
    const { socket } = await connectVia(port, `api.test:${sinkPort}`);
    const tls = tlsConnect({ socket, servername: 'api.test' });
    tls.on('error', () => undefined);
    await expect.poll(() => received.length).toBeGreaterThan(0);
    expect(received[0]![0]).toBe(0x16);
    expect(events.at(-1)).toMatchObject({ decision: 'allow', sni: 'api.test', address: '127.0.0.1' });
    tls.destroy();
    await close();
  });

  it('checks the SNI of a ClientHello sent in small pieces', async () => {
    received.length = 0;
    const { port, events, close } = await startProxy(
      [`api.test:${sinkPort}`, `127.0.0.1:${sinkPort}`],
      loopback,
    );
    // Capture a real hello for another name, then dribble it through the tunnel.
    const capture = createServer();
    capture.listen(0, '127.0.0.1');
    await once(capture, 'listening');
    const hello = new Promise<Buffer>((resolve) =>
      capture.once('connection', (s) => s.once('data', (d: Buffer) => resolve(d))),
    );
    const probe = tlsConnect({
      port: (capture.address() as AddressInfo).port,
      host: '127.0.0.1',
      servername: 'other.test',
    });
    probe.on('error', () => undefined);
    const bytes = await hello;
    probe.destroy();
    capture.close();
    const { socket } = await connectVia(port, `api.test:${sinkPort}`);
    // Listening before the last piece goes out: the refusal may close the tunnel at once.
    const closed = once(socket, 'close');
    for (let at = 0; at < bytes.length && !socket.destroyed; at += 64) {
      socket.write(bytes.subarray(at, at + 64));
      await new Promise((r) => setTimeout(r, 2));
    }
    await closed;
    expect(received).toEqual([]);
    expect(events.at(-1)).toMatchObject({ decision: 'deny', sni: 'other.test' });
    await close();
  });

  it('refuses a TLS tunnel to a name without SNI', async () => {
    received.length = 0;
    const { port, events, close } = await startProxy(
      [`api.test:${sinkPort}`, `127.0.0.1:${sinkPort}`],
      loopback,
    );
    const { socket } = await connectVia(port, `api.test:${sinkPort}`);
    // An empty servername makes node send a ClientHello without the server_name extension.
    const tls = tlsConnect({ socket, servername: '' });
    tls.on('error', () => undefined);
    await once(socket, 'close');
    expect(received).toEqual([]);
    expect(events.at(-1)).toMatchObject({ decision: 'deny', reason: expect.stringContaining('without SNI') });
    await close();
  });

  it('refuses a tunnel whose HTTP request line is still unfinished when the wait for it ends', async () => {
    // Held past the wait, the line went through raw, and so did a Host naming another tenant.
    const { port, events, close } = await startProxy([`127.0.0.1:${webPort}`], loopback);
    const { status, socket } = await connectVia(port, `127.0.0.1:${webPort}`);
    expect(status).toBe(200);
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
    });
    const closed = once(socket, 'close');
    socket.write('GET / HTTP/1.1');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    if (!socket.destroyed) socket.write('\r\nHost: other-tenant.example\r\n\r\n');
    await closed;
    expect(got).not.toContain('other-tenant');
    expect(events.at(-1)).toMatchObject({
      decision: 'deny',
      reason: expect.stringContaining('request line'),
    });
    await close();
  });

  it('passes a protocol that is not TLS through an allowed tunnel', async () => {
    received.length = 0;
    const { port, close } = await startProxy([`127.0.0.1:${sinkPort}`], loopback);
    const { socket } = await connectVia(port, `127.0.0.1:${sinkPort}`);
    socket.write('SSH-2.0-test\r\n');
    await expect.poll(() => Buffer.concat(received).toString()).toBe('SSH-2.0-test\r\n');
    socket.destroy();
    await close();
  });

  it('answers a refused plain HTTP request with 403 and the reason', async () => {
    const { port, events, close } = await startProxy([], loopback);
    const status = await new Promise<number>((resolve) =>
      request({ host: '127.0.0.1', port, path: 'http://unlisted.test/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end(),
    );
    expect(status).toBe(403);
    expect(events).toEqual([
      {
        method: 'HTTP',
        host: 'unlisted.test',
        port: 80,
        decision: 'deny',
        reason: 'host not on the egress list',
      },
    ]);
    await close();
  });

  it('refuses a request that is not an absolute http:// URL', async () => {
    const { port, close } = await startProxy([`127.0.0.1:${webPort}`], loopback);
    const status = await new Promise<number>((resolve) =>
      request({ host: '127.0.0.1', port, path: '/relative' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end(),
    );
    expect(status).toBe(400);
    await close();
  });

  it('denies when the resolver fails or hangs', async () => {
    const { port, events, close } = await startProxy(['slow.test:443'], () => new Promise(() => undefined));
    const { status } = await connectVia(port, 'slow.test:443');
    expect(status).toBe(403);
    expect(events.at(-1)).toMatchObject({ decision: 'deny', reason: 'name does not resolve' });
    await close();
  });
});
