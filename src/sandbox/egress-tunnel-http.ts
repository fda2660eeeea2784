/**
 * Plain HTTP spoken inside a CONNECT tunnel. The tunnel was checked for one
 * host; an HTTP request inside it names the host it wants in its Host header,
 * and a shared front end (a CDN, a reverse proxy, a cloud load balancer)
 * serves whichever tenant that names: the plain-text twin of domain fronting
 * through TLS SNI. So a tunnel whose first bytes are an HTTP/1 request line
 * is not piped: its request is parsed here, its Host (and an absolute URL's
 * host) must be the tunnel's host, and it is sent on as a new request to the
 * address the tunnel checked (egress-forward.ts: one request per tunnel, the
 * answer's body through the native relay). Upgrades (WebSocket) and
 * HTTP/2 prior knowledge in such a tunnel are refused.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { claimConnection, forwardRequest, keepHalfClosedClients } from './egress-forward.js';
import type { Relay } from './egress-relay.js';

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
const REQUEST_LINE = new RegExp(`^${TOKEN}+ \\S+ HTTP/\\d(\\.\\d)?\\r?$`);
const MAYBE_REQUEST_LINE = new RegExp(`^${TOKEN}*( [^\\r\\n]*)?\\r?$`);
/** A request line longer than this is not waited for: the bytes are not HTTP a server would take. */
const MAX_LINE = 8192;

export type PlainStart = 'http' | 'other' | 'incomplete';

/** Whether a tunnel's first bytes start an HTTP/1 request (servers skip empty lines before one). */
export function classifyPlain(data: Buffer): PlainStart {
  const text = data
    .subarray(0, MAX_LINE)
    .toString('latin1')
    .replace(/^(\r?\n)+/, '');
  const end = text.indexOf('\n');
  if (end < 0) return data.length >= MAX_LINE || !MAYBE_REQUEST_LINE.test(text) ? 'other' : 'incomplete';
  return REQUEST_LINE.test(text.slice(0, end)) ? 'http' : 'other';
}

/** `name` or `name:port` naming the tunnel's host (and its port, when one is given). */
export function hostMatches(header: string, host: string, port: number): boolean {
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(header.trim().toLowerCase());
  if (!match) return false;
  const name = (match[1] ?? '').replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return name === host && (match[2] === undefined || Number(match[2]) === port);
}

export interface TunnelTarget {
  /** The checked host, lower case, without brackets or trailing dot. */
  host: string;
  port: number;
  /** The address the tunnel was checked against and connects to. */
  address: string;
}

/** Serves the tunnel's requests one by one; `refused` reports each request turned away, and why. */
export function serveTunnelHttp(
  client: Socket,
  first: Buffer,
  target: TunnelTarget,
  relay: Relay,
  refused: (reason: string) => void,
): void {
  const server = createServer((req, res) => {
    if (!claimConnection(client)) {
      // One request per tunnel: the answer to the first said `Connection: close`.
      refused('a second request in a one-request tunnel');
      client.destroy();
      return;
    }
    const named = req.headers.host ?? '';
    let reason: string | undefined;
    if (!hostMatches(named, target.host, target.port))
      reason = `HTTP Host ${named || '(none)'} inside the tunnel differs from ${target.host}`;
    else if (!req.url?.startsWith('/')) {
      try {
        const url = new URL(req.url ?? '');
        if (!hostMatches(url.host, target.host, target.port))
          reason = `HTTP request for ${url.host} inside the tunnel to ${target.host}`;
      } catch {
        reason = 'a request target that is neither a path nor a URL';
      }
    }
    if (reason !== undefined) {
      refused(reason);
      res.writeHead(403, {
        'content-type': 'text/plain',
        'x-bulkhead-egress': 'denied',
        connection: 'close',
      });
      res.end(`bulkhead egress denied: ${reason}\n`, () => client.destroy());
      return;
    }
    forwardRequest(
      req,
      res,
      { address: target.address, port: target.port, host: named, path: req.url ?? '/' },
      relay,
    );
  });
  keepHalfClosedClients(server);
  server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    refused('a protocol upgrade inside a plain HTTP tunnel');
    socket.destroy();
  });
  server.on('clientError', (_error, socket: Socket) => socket.destroy());
  client.unshift(first);
  server.emit('connection', client);
  client.resume();
}
