/**
 * The egress proxy: the jail's only way to the network. It accepts HTTP
 * CONNECT and plain absolute-URI HTTP and filters both with the same
 * decision (egress-policy.ts). It resolves names itself and connects to the
 * very address it checked, so a second lookup cannot be rebound to an
 * internal address. For a CONNECT it reads the client's first bytes before
 * opening anything: a TLS ClientHello whose SNI names another host than the
 * CONNECT line is refused (domain fronting), and a malformed one is refused
 * too. Plain HTTP inside a tunnel is parsed and its Host must be the CONNECT
 * host (egress-tunnel-http.ts). A plain HTTP request, proxied or in a tunnel,
 * is forwarded one per connection (egress-forward.ts), the answer's body
 * through the native relay. Every attempt, allowed or denied, is reported
 * through `onEvent`.
 *
 * Fail closed: any error on the way to a decision is a denial; nothing is
 * forwarded before the decision is complete.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { firstBytes, judgeFirstBytes } from './egress-first-bytes.js';
import { claimConnection, forwardRequest, keepHalfClosedClients } from './egress-forward.js';
import {
  decideAddress,
  decideName,
  type EgressRule,
  ownAddresses,
  parseEgress,
  WildcardBudget,
} from './egress-policy.js';
import { createRelay, type Relay } from './egress-relay.js';
import { checkHelloRetry } from './egress-tls-retry.js';
import { serveTunnelHttp } from './egress-tunnel-http.js';

export interface EgressEvent {
  method: 'CONNECT' | 'HTTP';
  host: string;
  port: number;
  decision: 'allow' | 'deny';
  /** The egress entry that allowed it, or why it was refused. */
  reason: string;
  /** The address the proxy resolved and connected to (or refused). */
  address?: string;
  sni?: string;
}

/** Resolves a name to its addresses; injectable so tests control what a name points at. */
export type Resolver = (host: string, signal: AbortSignal) => Promise<string[]>;

export interface EgressProxyOptions {
  /** The profile's `host:port` entries; an empty list refuses everything. */
  egress: readonly string[];
  onEvent: (event: EgressEvent) => void;
  resolve?: Resolver;
  /** How long a lookup, or a client's first bytes in a tunnel, may take. */
  timeoutMs?: number;
  /** Moves allowed tunnels' bytes natively (socat); tests and benchmarks pass their own. */
  relay?: Relay;
}

const defaultResolver: Resolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

type Checked = { ok: true; address: string; entry: string } | { ok: false; reason: string; address?: string };

export function createEgressProxy(options: EgressProxyOptions): Server {
  const rules = parseEgress(options.egress);
  const budget = new WildcardBudget(rules);
  const resolve = options.resolve ?? defaultResolver;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const open = new Set<Socket>();
  const relay = options.relay ?? createRelay();

  const check = async (host: string, port: number): Promise<Checked> => {
    try {
      return await decide(rules, budget, resolve, timeoutMs, host, port);
    } catch {
      return { ok: false, reason: 'internal error while deciding' };
    }
  };

  const report = (method: EgressEvent['method'], host: string, port: number, result: Checked, sni?: string) =>
    options.onEvent({
      method,
      host,
      port,
      decision: result.ok ? 'allow' : 'deny',
      reason: result.ok ? result.entry : result.reason,
      ...(result.address ? { address: result.address } : {}),
      ...(sni ? { sni } : {}),
    });

  const server = createServer(async (req, res) => {
    // Plain HTTP through a proxy uses an absolute URI; anything else is not a proxy request.
    let target: URL;
    try {
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:') throw new Error('not http');
    } catch {
      res
        .writeHead(400, { 'content-type': 'text/plain', 'x-bulkhead-egress': 'denied' })
        .end('bulkhead egress: absolute http:// URL expected\n');
      return;
    }
    const host = target.hostname;
    const port = Number(target.port || 80);
    if (!claimConnection(req.socket)) {
      // One request per connection: the answer to the first said `Connection: close`.
      report('HTTP', host, port, { ok: false, reason: 'a second request on a one-request connection' });
      req.socket.destroy();
      return;
    }
    const checked = await check(host, port);
    report('HTTP', host, port, checked);
    if (!checked.ok) {
      res
        .writeHead(403, { 'content-type': 'text/plain', 'x-bulkhead-egress': 'denied', connection: 'close' })
        .end(`bulkhead egress denied: ${checked.reason}\n`);
      return;
    }
    forwardRequest(
      req,
      res,
      { address: checked.address, port, host: target.host, path: `${target.pathname}${target.search}` },
      relay,
    );
  });
  keepHalfClosedClients(server);

  // An upgrade would turn the checked request into an unchecked byte stream (WebSocket, h2c).
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    let host = '';
    let port = 0;
    try {
      const target = new URL(req.url ?? '');
      host = target.hostname;
      port = Number(target.port || 80);
    } catch {
      // reported with no host
    }
    report('HTTP', host, port, { ok: false, reason: 'a protocol upgrade through the proxy' });
    refuse(socket, 'a protocol upgrade through the proxy');
  });

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    void tunnel(req, client, head).catch(() => client.destroy());
  });

  const tunnel = async (req: IncomingMessage, client: Socket, head: Buffer): Promise<void> => {
    const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(req.url ?? '');
    const host = match?.[1] ?? '';
    const port = Number(match?.[2] ?? 0);
    const checked = await check(host, port);
    if (!checked.ok) {
      report('CONNECT', host, port, checked);
      refuse(client, checked.reason);
      return;
    }
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const first = await firstBytes(client, head, timeoutMs);
    const expected = bare(host);
    const verdict = judgeFirstBytes(first, expected);
    if (verdict.refusal !== undefined) {
      report(
        'CONNECT',
        host,
        port,
        { ok: false, reason: verdict.refusal, address: checked.address },
        verdict.sni,
      );
      client.destroy();
      return;
    }
    report('CONNECT', host, port, checked, verdict.sni);
    if (first && verdict.http) {
      serveTunnelHttp(client, first, { host: expected, port, address: checked.address }, relay, (reason) =>
        report('CONNECT', host, port, { ok: false, reason, address: checked.address }),
      );
      return;
    }
    const upstream = connect({ host: checked.address, port });
    open.add(upstream);
    upstream.once('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    client.once('close', () => upstream.destroy());
    upstream.on('error', () => upstream.destroy());
    upstream.once('connect', () => {
      const handOver = async () => {
        if (await relay.take(client, upstream)) return;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      };
      // The checked first bytes go out from here; everything after them is the relay's, but for
      // TLS only once the server's first message is in (a second hello after a retry is checked).
      const afterFirst = async () => {
        if (!verdict.tls) return handOver();
        const retry = await checkHelloRetry(client, upstream, expected, timeoutMs);
        if (retry.kind === 'pass') return handOver();
        if (retry.kind === 'refuse')
          report(
            'CONNECT',
            host,
            port,
            { ok: false, reason: retry.reason, address: checked.address },
            retry.sni,
          );
        upstream.destroy();
        client.end(() => client.destroy());
      };
      if (first) upstream.write(first, () => void afterFirst());
      else void afterFirst();
    });
  };

  // Tunnels are not tracked by the HTTP server; a closed proxy must not leave any open.
  server.once('close', () => {
    for (const socket of open) socket.destroy();
    relay.closeAll();
  });
  return server;
}

/** Both checks in order: the name and port against the list, then every address it resolves to. */
async function decide(
  rules: readonly EgressRule[],
  budget: WildcardBudget,
  resolve: Resolver,
  timeoutMs: number,
  host: string,
  port: number,
): Promise<Checked> {
  const byName = decideName(host, port, rules);
  if (byName.action === 'deny') return { ok: false, reason: byName.reason };
  // Before any lookup: each name looked up under a wildcard reaches that domain's name servers.
  const spent = budget.take(byName.entry, host);
  if (spent) return { ok: false, reason: spent };
  const name = bare(host);
  let addresses: string[];
  if (isIP(name) !== 0) addresses = [name];
  else {
    try {
      addresses = await withTimeout(resolve, name, timeoutMs);
    } catch {
      return { ok: false, reason: 'name does not resolve' };
    }
  }
  if (addresses.length === 0) return { ok: false, reason: 'name does not resolve' };
  // Every address must pass: a name with one public and one internal address is refused.
  const own = ownAddresses();
  for (const address of addresses) {
    const byAddress = decideAddress(address, port, rules, own);
    if (byAddress.action === 'deny') return { ok: false, reason: byAddress.reason, address };
  }
  return { ok: true, address: addresses[0] as string, entry: byName.entry };
}

async function withTimeout(resolve: Resolver, host: string, timeoutMs: number): Promise<string[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await Promise.race([
      resolve(host, controller.signal),
      new Promise<never>((_, fail) =>
        controller.signal.addEventListener('abort', () => fail(new Error('lookup timed out'))),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function bare(host: string): string {
  return host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

function refuse(client: Socket, reason: string): void {
  const body = `bulkhead egress denied: ${reason}\n`;
  client.end(
    `HTTP/1.1 403 Forbidden\r\nx-bulkhead-egress: denied\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
