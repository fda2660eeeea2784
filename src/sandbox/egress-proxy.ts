/**
 * The egress proxy: the jail's only way to the network. It accepts HTTP
 * CONNECT and plain absolute-URI HTTP, filters both with the same decision,
 * resolves names itself, and connects to the very address it checked (no
 * second lookup for a rebinding to exploit). For a CONNECT carrying TLS it
 * reads the ClientHello and refuses a tunnel whose SNI names another host
 * (domain fronting). Every attempt, allowed or denied, is reported.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { decideAddress, decideName, parseEgress } from './egress-policy.js';
import { isTlsHandshake, readSni } from './tls-sni.js';

export interface EgressEvent {
  method: 'CONNECT' | 'HTTP';
  host: string;
  port: number;
  decision: 'allow' | 'deny';
  reason: string;
  address?: string;
}

export type Resolver = (host: string) => Promise<string[]>;

export interface EgressProxyOptions {
  egress: readonly string[];
  onEvent: (event: EgressEvent) => void;
  resolve?: Resolver;
}

const defaultResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true })).map((a) => a.address);

export function createEgressProxy(options: EgressProxyOptions): Server {
  const rules = parseEgress(options.egress);
  const resolve = options.resolve ?? defaultResolver;

  /** Both checks, in order; returns the address to connect to, or the refusal. */
  const check = async (
    method: EgressEvent['method'],
    host: string,
    port: number,
  ): Promise<{ address: string } | { reason: string }> => {
    const byName = decideName(host, port, rules);
    if (byName.action === 'deny') {
      options.onEvent({ method, host, port, decision: 'deny', reason: byName.reason });
      return { reason: byName.reason };
    }
    let addresses: string[];
    try {
      addresses = isIP(host.replace(/^\[|\]$/g, '')) ? [host.replace(/^\[|\]$/g, '')] : await resolve(host);
    } catch {
      options.onEvent({ method, host, port, decision: 'deny', reason: 'name does not resolve' });
      return { reason: 'name does not resolve' };
    }
    // Every address must pass: a name with one public and one internal address is refused.
    for (const address of addresses) {
      const byAddress = decideAddress(address, port, rules);
      if (byAddress.action === 'deny') {
        options.onEvent({ method, host, port, decision: 'deny', reason: byAddress.reason, address });
        return { reason: byAddress.reason };
      }
    }
    const address = addresses[0];
    if (!address) return { reason: 'name does not resolve' };
    options.onEvent({ method, host, port, decision: 'allow', reason: byName.entry, address });
    return { address };
  };

  const server = createServer(async (req, res) => {
    // Plain HTTP through a proxy uses an absolute URI; anything else is not a proxy request.
    let target: URL;
    try {
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:') throw new Error('not http');
    } catch {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('bulkhead egress: absolute http:// URL expected\n');
      return;
    }
    const port = Number(target.port || 80);
    const checked = await check('HTTP', target.hostname, port);
    if ('reason' in checked) {
      res
        .writeHead(403, { 'content-type': 'text/plain', 'x-bulkhead-egress': 'denied' })
        .end(`bulkhead egress denied: ${checked.reason}\n`);
      return;
    }
    const upstream = httpRequest(
      {
        host: checked.address,
        port,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers: { ...stripHopHeaders(req), host: target.host },
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end('bulkhead egress: upstream connection failed\n'));
    req.pipe(upstream);
  });

  server.on('connect', async (req: IncomingMessage, client: Socket, head: Buffer) => {
    client.on('error', () => undefined);
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url ?? '');
    const host = match?.[1] ?? '';
    const port = Number(match?.[2] ?? 0);
    const checked = await check('CONNECT', host, port);
    if ('reason' in checked) {
      client.end(`HTTP/1.1 403 Forbidden\r\nx-bulkhead-egress: denied\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const first = head.length > 0 ? head : await firstChunk(client);
    if (first && isTlsHandshake(first)) {
      const sni = readSni(first);
      const expected = host.replace(/^\[|\]$/g, '').toLowerCase();
      if (sni !== undefined && sni !== expected) {
        options.onEvent({
          method: 'CONNECT',
          host,
          port,
          decision: 'deny',
          reason: `TLS SNI ${sni} differs from ${expected}`,
        });
        client.destroy();
        return;
      }
    }
    const upstream = connect(port, checked.address);
    upstream.on('error', () => client.destroy());
    upstream.on('connect', () => {
      if (first) upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  return server;
}

function firstChunk(socket: Socket): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('data', onData);
      resolve(undefined);
    }, 10_000);
    const onData = (data: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      resolve(data);
    };
    socket.once('data', onData);
  });
}

function stripHopHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined || /^(proxy-|connection$|keep-alive$|te$|trailer$|upgrade$)/i.test(key)) continue;
    out[key] = value;
  }
  return out;
}
