/**
 * The jail's gateway bridge when the gateway goes away (killed, restarted):
 * an answer cut in the middle reaches the agent as a cut, not as a stream
 * that never says more; a request made while nothing listens waits for the
 * gateway to come back; one the gateway took and never answered gets a 502
 * and is not sent twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serveGatewayBridge } from './gateway-bridge.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A stand-in gateway on a loopback port; `port` reuses one (a restart on the same address). */
async function gateway(handler: Parameters<typeof createServer>[1], port = 0): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return server;
}

async function bridgeTo(port: number, returnMs?: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-bridge-'));
  const path = join(dir, 'gateway.sock');
  const server = await serveGatewayBridge(
    path,
    { host: '127.0.0.1', port },
    returnMs === undefined ? {} : { returnMs },
  );
  cleanups.push(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

type Outcome = { status: number; body: string; ended: 'end' | 'cut' };

/** A request through the bridge's socket, as the agent's side of socat makes it. */
function through(socketPath: string, method: string, path: string, body?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text, ended: 'end' }));
        res.once('close', () => {
          if (!res.complete) resolve({ status: res.statusCode ?? 0, body: text, ended: 'cut' });
        });
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function freePort(): Promise<number> {
  const probe = await gateway(() => undefined);
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

describe('the gateway bridge when the gateway goes away', () => {
  it('cuts an answer the gateway stopped in the middle (a model or MCP stream), instead of leaving it open', async () => {
    const sockets = new Set<Socket>();
    const gw = await gateway((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: ping\ndata: {}\n\n');
      sockets.add(res.socket as Socket);
    });
    const path = await bridgeTo((gw.address() as AddressInfo).port);
    const pending = through(path, 'POST', '/v1/messages', '{}');
    while (sockets.size === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    const cutAt = Date.now();
    // What kill -9 does to the gateway's sockets.
    for (const s of sockets) s.destroy();
    const outcome = await Promise.race([
      pending,
      new Promise<'open'>((r) => setTimeout(() => r('open'), 5_000)),
    ]);
    expect(outcome).not.toBe('open');
    expect((outcome as Outcome).ended).toBe('cut');
    expect((outcome as Outcome).body).toContain('event: ping');
    expect(Date.now() - cutAt).toBeLessThan(5_000);
  });

  it('holds a request made while nothing listens until the gateway is back, body and all', async () => {
    const port = await freePort();
    const path = await bridgeTo(port);
    const seen: string[] = [];
    const pending = through(path, 'POST', '/mcp', '{"jsonrpc":"2.0","id":7,"method":"tools/call"}');
    await new Promise((r) => setTimeout(r, 1_500));
    await gateway((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        seen.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    }, port);
    const outcome = await pending;
    expect(outcome).toEqual({ status: 200, body: '{"ok":true}', ended: 'end' });
    expect(seen).toEqual(['{"jsonrpc":"2.0","id":7,"method":"tools/call"}']);
  });

  it('gives up with a 502 when the gateway does not come back in time', async () => {
    const path = await bridgeTo(await freePort(), 600);
    const startedAt = Date.now();
    const outcome = await through(path, 'POST', '/mcp', '{}');
    expect(outcome.status).toBe(502);
    expect(outcome.body).toContain('the gateway is unreachable');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(400);
  });

  it('answers 502 (outcome unknown) for a request the gateway took and died with, and does not send it again', async () => {
    let received = 0;
    const gw = await gateway((req) => {
      received++;
      req.resume();
      req.once('end', () => req.socket.destroy());
    });
    const path = await bridgeTo((gw.address() as AddressInfo).port);
    const outcome = await through(path, 'POST', '/mcp', '{"jsonrpc":"2.0","id":1,"method":"tools/call"}');
    expect(outcome.status).toBe(502);
    expect(outcome.body).toContain('outcome is unknown');
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toBe(1);
  });

  it('still refuses paths outside /mcp and /v1/ without asking the gateway', async () => {
    let received = 0;
    const gw = await gateway((_req, res) => {
      received++;
      res.end('x');
    });
    const path = await bridgeTo((gw.address() as AddressInfo).port);
    const outcome = await through(path, 'GET', '/api/runs');
    expect(outcome.status).toBe(403);
    expect(received).toBe(0);
  });
});
