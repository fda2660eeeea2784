/**
 * What a CONNECT tunnel's client sends first, read and judged before anything goes out: a TLS
 * ClientHello must name the tunnel's host in its SNI and show the name it means (tls-sni.ts);
 * plain bytes are an HTTP/1 request node parses (its Host checked, egress-tunnel-http.ts), bytes
 * some server would still take for a request, refused, or another protocol, passed on.
 */
import { isIP, type Socket } from 'node:net';
import { classifyPlain } from './egress-tunnel-http.js';
import { classifyFirstBytes, MAX_CLIENT_HELLO } from './tls-sni.js';

export interface FirstVerdict {
  /** Why the tunnel is refused, or undefined. */
  refusal?: string;
  sni?: string;
  /** A plain HTTP/1 request: served parsed, not piped. */
  http: boolean;
  /** A ClientHello: the server's answer is read before the relay takes over (a retry's second hello). */
  tls?: boolean;
}

/** The verdict on a tunnel to `expected` (lower case, bare) whose client sent `first`. */
export function judgeFirstBytes(first: Buffer | undefined, expected: string): FirstVerdict {
  const seen = first ? classifyFirstBytes(first) : undefined;
  if (!first || !seen) return { refusal: 'the client sent nothing to inspect', http: false };
  if (seen.kind === 'malformed') return { refusal: 'malformed TLS ClientHello', http: false };
  if (seen.kind === 'incomplete') return { refusal: 'TLS ClientHello too large or cut short', http: false };
  if (seen.kind === 'unreadable') return { refusal: seen.reason, http: false };
  if (seen.kind === 'client-hello') return { ...sniRefusal(seen.sni, expected), http: false, tls: true };
  const plain = classifyPlain(first);
  // Still an unfinished HTTP request line when the wait ends (slow, or cut by a half-close): passed
  // on raw, its Host would never be checked, and the client could finish it naming any tenant.
  if (plain === 'incomplete') return { refusal: 'an HTTP request line not finished in time', http: false };
  if (plain === 'http-like')
    return { refusal: 'an HTTP request line written loosely (a server could take its Host)', http: false };
  if (plain === 'proxy-header') return { refusal: 'a PROXY protocol header', http: false };
  return { http: plain === 'http' };
}

/** The SNI check of a ClientHello (the first, or one sent again after a HelloRetryRequest). */
export function sniRefusal(sni: string | undefined, expected: string): { refusal?: string; sni?: string } {
  // Domain fronting: the tunnel was checked for one name, TLS asks the far side for another.
  if (sni !== undefined && sni !== expected)
    return { refusal: `TLS SNI ${sni} differs from ${expected}`, sni };
  // A name without SNI would let a CDN pick the tenant from the encrypted Host header.
  if (sni === undefined && isIP(expected) === 0) return { refusal: `TLS without SNI to ${expected}` };
  return sni === undefined ? {} : { sni };
}

/**
 * Reads until the first bytes can be classified (a whole ClientHello, or clearly not TLS).
 * Nothing goes upstream before that, so a slow or split hello cannot slip past the SNI check.
 */
export function firstBytes(client: Socket, head: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let data = head;
    const done = (result: Buffer | undefined) => {
      clearTimeout(timer);
      client.off('data', onData);
      client.off('close', onClose);
      client.off('end', onEnd);
      client.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (settled(data) || data.length > MAX_CLIENT_HELLO) done(data);
    };
    const onClose = () => done(undefined);
    // A client that half-closes sends nothing more: decide on what came (nothing is refused).
    const onEnd = () => done(data.length > 0 ? data : undefined);
    const timer = setTimeout(() => done(data.length > 0 ? data : undefined), timeoutMs);
    if (data.length > 0 && settled(data)) {
      done(data);
      return;
    }
    client.on('data', onData);
    client.once('close', onClose);
    client.once('end', onEnd);
    client.resume();
  });
}

/**
 * Enough to decide on: a whole ClientHello, or clearly not TLS and, when it could be HTTP, the
 * whole request line (an HTTP request sent a byte at a time must not slip past the Host check).
 */
function settled(data: Buffer): boolean {
  const tls = classifyFirstBytes(data).kind;
  if (tls === 'incomplete') return false;
  return tls !== 'not-tls' || classifyPlain(data) !== 'incomplete';
}
