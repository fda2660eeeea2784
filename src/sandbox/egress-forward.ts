/**
 * One checked plain-HTTP request on its way out, and its answer on its way
 * back, for both the proxy's absolute-URI requests and plain HTTP inside a
 * CONNECT tunnel. The request side stays in node on purpose: node's parser
 * (llhttp, strict) decides where the request ends (it refuses Content-Length
 * with Transfer-Encoding, duplicate lengths, bad chunk sizes, oversized
 * heads), and what goes up is written here from what that parser saw: a new
 * head (the checked Host, hop-by-hop headers dropped, `Connection: close`)
 * and the body re-framed by its parsed length. No client byte is passed on
 * raw, so a request smuggled behind, or inside, the first cannot reach the far
 * side as a request.
 *
 * One request per client connection: the answer goes back with
 * `Connection: close`, the connection closes after it, and a second request
 * on it (pipelined, or sent regardless) is refused and never forwarded. That
 * is what lets the answer's body skip JavaScript: once its head is rewritten,
 * the rest of the upstream connection until its EOF is the answer, so it is
 * handed to the native relay one way (upstream -> client, `socat -u`) while
 * node keeps the other way (the request body going up, and watching the
 * client for a close or a second request). A body of known length is cut at
 * that length (socat's readbytes), so a far side that ignores the close
 * cannot hold the connection. Small answers (a known length under
 * NATIVE_FROM) node copies itself: a relay process per request would cost
 * more than it saves.
 */
import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Forwarding, Relay } from './egress-relay.js';

/** Answer bodies this long or longer, or of unknown length, move through the native relay. */
export const NATIVE_FROM = 256 * 1024;
/** An answer head longer than this is not waited for: the far side is not speaking HTTP. */
const MAX_RESPONSE_HEAD = 64 * 1024;

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'transfer-encoding',
  'content-length',
  'host',
  // Node answered the client's 100-continue itself before the request reached us.
  'expect',
];

export interface ForwardTarget {
  /** The checked address, never the name: a second lookup is what DNS rebinding exploits. */
  address: string;
  port: number;
  /** The Host header the far side gets (the checked host). */
  host: string;
  /** The request target sent on (an origin-form path, or an absolute URL already checked). */
  path: string;
}

const claimed = new WeakSet<Socket>();

/**
 * Lets a client half-close (shutdown(SHUT_WR)) once its request is sent, as curl, git and python
 * clients do in some modes, and still get the answer. By default node's HTTP server answers a
 * client's EOF by ending its own side at once (`httpAllowHalfOpen`, false unless set; in node
 * since 0.x though not in its typings), so the answer, written later, never left. With it, the
 * connection ends after the answer in progress, or at once when none is (an EOF before a request,
 * or in the middle of one, still closes it). Nothing else changes: one request per connection.
 */
export function keepHalfClosedClients<T extends Server>(server: T): T {
  (server as T & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  return server;
}

/**
 * True for a connection's first request, false for any later one: a connection carries one
 * forwarded request, whatever it was (allowed or refused).
 */
export function claimConnection(client: Socket): boolean {
  if (claimed.has(client)) return false;
  claimed.add(client);
  return true;
}

/** The head sent on: method, the checked target and Host, end-to-end headers, our framing. */
export function requestHead(req: IncomingMessage, target: ForwardTarget): { head: string; chunked: boolean } {
  if (!/^[\x21-\x7e]+$/.test(target.path)) throw new Error('request target with spaces or controls');
  const drop = new Set(HOP_BY_HOP);
  for (const name of String(req.headers.connection ?? '').split(',')) drop.add(name.trim().toLowerCase());
  const lines = [`${req.method ?? 'GET'} ${target.path} HTTP/1.1`, `Host: ${target.host}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (drop.has(lower) || lower.startsWith('proxy-')) continue;
    validateHeaderName(name);
    validateHeaderValue(name, value);
    lines.push(`${name}: ${value}`);
  }
  // llhttp took the body as chunked exactly when Transfer-Encoding was there (it refuses one
  // alongside Content-Length), else by Content-Length, else as empty.
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const length = req.headers['content-length'];
  if (chunked) lines.push('Transfer-Encoding: chunked');
  else if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw new Error('bad Content-Length');
    lines.push(`Content-Length: ${length}`);
  }
  lines.push('Connection: close');
  return { head: `${lines.join('\r\n')}\r\n\r\n`, chunked };
}

/** Sends the request on to the checked address and the answer back; the connection ends after it. */
export function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: ForwardTarget,
  relay: Relay,
): void {
  const client = req.socket;
  let built: { head: string; chunked: boolean };
  try {
    built = requestHead(req, target);
  } catch {
    fail(res, client, 400, 'bulkhead egress: a request that cannot be sent on\n');
    return;
  }
  const upstream = connect({ host: target.address, port: target.port });
  let forwarding: Forwarding | undefined;
  let answered = false;
  let failed = false;
  const finish = () => {
    forwarding?.stop();
    upstream.destroy();
    client.destroy();
  };
  const failWith = (status: number, body: string) => {
    if (failed) return;
    failed = true;
    upstream.destroy();
    if (answered) finish();
    else fail(res, client, status, body);
  };
  client.once('close', finish);
  upstream.on('error', () => failWith(502, 'bulkhead egress: upstream failed\n'));
  upstream.write(built.head);
  sendBody(req, upstream, built.chunked);
  readAnswerHead(upstream, client, req.method === 'HEAD', (head, rest, length) => {
    answered = true;
    const body = length === undefined ? rest : rest.subarray(0, length);
    const left = length === undefined ? undefined : length - body.length;
    client.write(Buffer.concat([head, body]));
    if (left !== undefined && left < NATIVE_FROM) return copyHere(upstream, client, left);
    void relay.forward(upstream, client, left).then((handle) => {
      if (!handle) return copyHere(upstream, client, left);
      forwarding = handle;
      if (client.destroyed) handle.stop();
      void handle.ended.then(finish);
    });
  }).catch(() => failWith(502, 'bulkhead egress: the far side did not answer in HTTP/1\n'));
}

/** Node copies the answer's body itself: `left` bytes, or to the far side's EOF. */
function copyHere(upstream: Socket, client: Socket, left: number | undefined): void {
  let remaining = left ?? Number.POSITIVE_INFINITY;
  const end = () => {
    upstream.off('data', onData);
    client.end(() => client.destroy());
  };
  const onData = (chunk: Buffer) => {
    const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
    remaining -= part.length;
    if (!client.write(part)) {
      upstream.pause();
      client.once('drain', () => upstream.resume());
    }
    if (remaining <= 0) end();
  };
  if (remaining <= 0) {
    end();
    return;
  }
  upstream.on('data', onData);
  upstream.once('end', end);
  upstream.resume();
}

function sendBody(req: IncomingMessage, upstream: Socket, chunked: boolean): void {
  // The far side's writing half stays open: some servers take a client's half-close for an abort.
  if (!chunked) {
    req.pipe(upstream, { end: false });
    return;
  }
  req.on('data', (chunk: Buffer) => {
    if (chunk.length === 0) return;
    const framed = upstream.write(
      Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]),
    );
    if (!framed) {
      req.pause();
      upstream.once('drain', () => req.resume());
    }
  });
  req.once('end', () => upstream.write('0\r\n\r\n'));
}

/**
 * Reads the far side's answer head (1xx interim heads are passed on as they come) and calls
 * `onHead` with the final head rewritten to close, what followed it, and the body's length when
 * the head gives it. Node stops reading at that point.
 */
function readAnswerHead(
  upstream: Socket,
  client: Socket,
  bodiless: boolean,
  onHead: (head: Buffer, rest: Buffer, length: number | undefined) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let data: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      data = data.length === 0 ? chunk : Buffer.concat([data, chunk]);
      for (;;) {
        const end = headEnd(data);
        if (end < 0) {
          if (data.length > MAX_RESPONSE_HEAD) stop(new Error('answer head too large'));
          return;
        }
        const text = data.subarray(0, end).toString('latin1');
        const status = Number(/^HTTP\/1\.[01] (\d{3})[ \r\n]/.exec(text)?.[1] ?? Number.NaN);
        if (Number.isNaN(status) || status === 101) return stop(new Error('not an HTTP/1 answer'));
        if (status < 200) {
          client.write(data.subarray(0, end));
          data = data.subarray(end);
          continue;
        }
        upstream.off('data', onData);
        upstream.off('end', onEnd);
        upstream.pause();
        // The body's length, or undefined: to the far side's EOF (chunked, or close-delimited).
        const length = bodiless || status === 204 || status === 304 ? 0 : contentLength(text);
        onHead(closingHead(text), data.subarray(end), length);
        resolve();
        return;
      }
    };
    const onEnd = () => stop(new Error('the far side closed before answering'));
    const stop = (error: Error) => {
      upstream.off('data', onData);
      upstream.off('end', onEnd);
      reject(error);
    };
    upstream.on('data', onData);
    upstream.once('end', onEnd);
  });
}

/** Index just past the blank line ending a head, or -1. */
function headEnd(data: Buffer): number {
  const crlf = data.indexOf('\r\n\r\n');
  const lf = data.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  return lf >= 0 ? lf + 2 : -1;
}

function contentLength(head: string): number | undefined {
  const values = [...head.matchAll(/^content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$/gim)].map((m) => m[1]);
  if (values.length === 0 || new Set(values).size > 1) return undefined;
  return Number(values[0]);
}

/** The final answer head, its connection headers replaced by `Connection: close`. */
function closingHead(head: string): Buffer {
  const lines = head.split(/\r?\n/).filter((line) => line !== '');
  const kept = lines.filter(
    (line, i) => i === 0 || !/^(connection|keep-alive|proxy-connection)[ \t]*:/i.test(line),
  );
  return Buffer.from(`${kept.join('\r\n')}\r\nConnection: close\r\n\r\n`, 'latin1');
}

function fail(res: ServerResponse, client: Socket, status: number, body: string): void {
  if (res.headersSent || client.destroyed) {
    client.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(body);
}
