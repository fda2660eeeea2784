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
/** What node's parser takes: one space each side of the target, CRLF or LF. */
const REQUEST_LINE = new RegExp(`^${TOKEN}+ \\S+ HTTP/\\d(\\.\\d)?\\r?$`);
/** Blanks a lenient server takes between the parts of a request line (python's takes any). */
const BLANK = '[ \\t\\x0b\\x0c]';
/**
 * A line some server would still read as a request: a method, blanks, then a path, `*`, an
 * absolute URL (HTTP/0.9 has no version) or, further on, an HTTP version in any case. nginx
 * takes several spaces, python's http.server tabs and trailing blanks, node's and Go's servers
 * request lines far past MAX_LINE. An SSH banner (`SSH-2.0-x comment`) is none of these.
 */
const HTTP_LIKE = new RegExp(`^${BLANK}*${TOKEN}+${BLANK}+([/*]|[a-z][a-z0-9+.-]*://|.*HTTP/\\d)`, 'i');
/** A line cut at MAX_LINE: a method and a blank are enough (its version may lie past the cut). */
const HTTP_LIKE_START = new RegExp(`^${BLANK}*${TOKEN}+${BLANK}+\\S`);
const MAYBE_REQUEST_LINE = new RegExp(`^${BLANK}*${TOKEN}*(${BLANK}[^\\r\\n]*)?\\r?$`);
/** The PROXY protocol's v1 line and v2 signature: the sender speaks for another client's address. */
const PROXY_V1 = 'PROXY ';
const PROXY_V2 = '\r\n\r\n\0\r\nQUIT\n';
/** A request line longer than this is not waited for (nor passed on: it is refused if HTTP-like). */
const MAX_LINE = 8192;

/**
 * What a tunnel's first plain bytes are: an HTTP/1 request node parses (`http`), bytes some server
 * would still take for a request or a PROXY header, which are refused rather than passed on raw
 * (where their Host, or the address they claim, would never be checked), or another protocol.
 */
export type PlainStart = 'http' | 'http-like' | 'proxy-header' | 'other' | 'incomplete';

/** Whether a tunnel's first bytes start an HTTP/1 request (servers skip empty lines before one). */
export function classifyPlain(data: Buffer): PlainStart {
  const raw = data.subarray(0, MAX_LINE).toString('latin1');
  if (raw.startsWith(PROXY_V1) || raw.startsWith(PROXY_V2)) return 'proxy-header';
  if (PROXY_V2.startsWith(raw) && !/^(\r?\n)*$/.test(raw)) return 'incomplete';
  const text = raw.replace(/^(\r?\n)+/, '');
  // A bare CR ends a line for some servers; a CR at the very end may still be followed by LF.
  const end = /\r\n|\n|\r(?!$)/.exec(text);
  if (!end) {
    if (data.length < MAX_LINE) return MAYBE_REQUEST_LINE.test(text) ? 'incomplete' : 'other';
    return HTTP_LIKE_START.test(text) ? 'http-like' : 'other';
  }
  const line = text.slice(0, end.index);
  if (end[0] !== '\r' && REQUEST_LINE.test(line)) return 'http';
  return HTTP_LIKE.test(line) ? 'http-like' : 'other';
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
