/**
 * The CLI's client for a running gateway's operator API. The operator token
 * comes from BULKHEAD_OPERATOR_TOKEN, or from the file a local gateway writes
 * for its user (so a local demo needs no setup). A local gateway mints a new
 * token at every start, so a token from the file that the gateway refuses is
 * read again and the request sent once more: `bulkhead run`'s kill watcher
 * outlives a gateway restarted after kill -9, and with the token it started
 * with it was refused forever, so a kill never reached the jail.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { BulkheadError, type ErrorCode } from '../errors.js';
import { localTokenPath } from '../gateway/local-home.js';

export const DEFAULT_GATEWAY = 'http://127.0.0.1:7300';

export interface ClientOptions {
  gateway?: string;
  token?: string;
}

export class GatewayClient {
  readonly base: string;
  private token: string;
  /** Whether the token came from the local gateway's file (and may be read again). */
  private readonly local: boolean;

  constructor(options: ClientOptions = {}) {
    this.base = (options.gateway ?? process.env.BULKHEAD_GATEWAY ?? DEFAULT_GATEWAY).replace(/\/+$/, '');
    const given = options.token ?? process.env.BULKHEAD_OPERATOR_TOKEN;
    this.local = given === undefined;
    this.token = given ?? readLocalToken(this.base);
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /**
   * A POST whose `sent` settles once the request has been handed to the kernel (or has failed):
   * a caller about to block this thread with other work (`bulkhead run` building its jail) waits
   * for it, so the gateway works on the request meanwhile instead of after. A request only
   * leaves when the event loop turns after the connection is made.
   */
  postSoon<T>(path: string, body: unknown = {}): { answer: Promise<T>; sent: Promise<void> } {
    let onSent = () => {};
    const sent = new Promise<void>((resolve) => {
      onSent = () => resolve();
    });
    const answer = this.request<T>('POST', path, body, undefined, onSent);
    answer.then(onSent, onSent);
    return { answer, sent };
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    onSent?: () => void,
  ): Promise<T> {
    let answer: { status: number; text: string };
    try {
      answer = await send(method, `${this.base}${path}`, this.token, body, signal, onSent);
      if (answer.status === 401 && this.local) {
        // The local gateway restarted and wrote a new token: read it once more.
        const fresh = readLocalToken(this.base);
        if (fresh !== this.token) {
          this.token = fresh;
          answer = await send(method, `${this.base}${path}`, this.token, body, signal);
        }
      }
    } catch (error) {
      throw new BulkheadError(
        'gateway_unreachable',
        `no gateway answers at ${this.base} (start one with: bulkhead gateway --policy FILE)`,
        { cause: error },
      );
    }
    const parsed = answer.text ? (JSON.parse(answer.text) as unknown) : {};
    if (answer.status < 200 || answer.status > 299) {
      const { error, message } = parsed as { error?: ErrorCode; message?: string };
      throw new BulkheadError(error ?? 'bad_request', message ?? `gateway answered ${answer.status}`);
    }
    return parsed as T;
  }
}

/**
 * One request. Not fetch: loading undici costs about 100 ms of a CLI command's start-up, more than
 * the request itself. For a plain-HTTP gateway (a local one) not node:http either, but one
 * HTTP/1.1 exchange over node:net (`sendPlain`): node:http's agent, parser and message classes
 * were about a fifth of the instructions `bulkhead run` adds to node's own start. An https
 * gateway goes through node:https, with TLS.
 */
async function send(
  method: string,
  url: string,
  token: string,
  body: unknown,
  signal?: AbortSignal,
  onSent?: () => void,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const target = new URL(url);
  if (target.protocol === 'http:') return sendPlain(target, method, token, payload, signal, onSent);
  const { request } = await import('node:https');
  const trust = await deferredCaOptions();
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method,
        ...trust,
        ...(signal ? { signal } : {}),
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    // 'finish': the last of the request is with the kernel (after the connection is made).
    if (onSent) req.once('finish', onSent);
    req.end(payload);
  });
}

/** What node:http refuses in a header value (and what would let a value add a header of its own). */
const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * One HTTP/1.1 request on a connection of its own (`Connection: close`), over node:net. The answer
 * is read by its Content-Length, or chunked, or to the end of the connection, as HTTP/1.1 says;
 * anything else (a malformed status line or headers, a connection closed early) is an error.
 */
export function sendPlain(
  target: URL,
  method: string,
  token: string,
  payload: string | undefined,
  signal?: AbortSignal,
  onSent?: () => void,
): Promise<{ status: number; text: string }> {
  if (BAD_HEADER_VALUE.test(token))
    return Promise.reject(new Error('the token holds a character no header may'));
  if (signal?.aborted) return Promise.reject(signal.reason);
  const head = [
    `${method} ${target.pathname}${target.search} HTTP/1.1`,
    `host: ${target.host}`,
    `authorization: Bearer ${token}`,
    'connection: close',
    ...(payload !== undefined
      ? ['content-type: application/json', `content-length: ${Buffer.byteLength(payload)}`]
      : []),
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(target.port || 80),
    });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error: unknown, answer?: { status: number; text: string }) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (answer) resolve(answer);
      else reject(error);
    };
    const onAbort = () => finish(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => finish(error));
    // Bytes the whole answer takes, once its head is in: the head and a Content-Length body, or
    // (chunked, or delimited by the connection's end) until the gateway closes, which it does
    // after answering (`Connection: close`).
    let needed: number | undefined;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      try {
        if (needed === undefined) needed = answerSize(Buffer.concat(chunks, received));
        if (needed !== undefined && received >= needed) {
          const answer = parseAnswer(Buffer.concat(chunks, received), false);
          if (answer) finish(undefined, answer);
        }
      } catch (error) {
        finish(error);
      }
    });
    socket.once('end', () => {
      try {
        const answer = parseAnswer(Buffer.concat(chunks, received), true);
        finish(answer ? undefined : new Error('the gateway closed the connection before answering'), answer);
      } catch (error) {
        finish(error);
      }
    });
    socket.write(payload === undefined ? head : head + payload, 'utf8', () => onSent?.());
  });
}

/**
 * The answer in `bytes` once it is complete (undefined until then); at the connection's end
 * (`ended`), an answer delimited by nothing but the end is complete. Throws on a malformed one.
 */
export function parseAnswer(bytes: Buffer, ended: boolean): { status: number; text: string } | undefined {
  const head = parseHead(bytes);
  if (!head) {
    if (ended) throw new Error('the gateway closed the connection before answering');
    return undefined;
  }
  const { headEnd, code, headers } = head;
  const body = bytes.subarray(headEnd + 4);
  const text = (b: Buffer) => ({ status: code, text: b.toString('utf8') });
  if (noBody(code)) return text(Buffer.alloc(0));
  const encoding = headers.get('transfer-encoding');
  if (encoding !== undefined) {
    if (encoding.toLowerCase() !== 'chunked') throw new Error(`the gateway answered in ${encoding}`);
    const decoded = dechunk(body);
    if (decoded) return text(decoded);
    if (ended) throw new Error('the gateway closed the connection in the middle of its answer');
    return undefined;
  }
  const size = contentLength(headers);
  if (size !== undefined) {
    if (body.length >= size) return text(body.subarray(0, size));
    if (ended) throw new Error('the gateway closed the connection in the middle of its answer');
    return undefined;
  }
  return ended ? text(body) : undefined;
}

/** The bytes an answer takes (Infinity: until the connection ends), or undefined before its head is in. */
function answerSize(bytes: Buffer): number | undefined {
  const head = parseHead(bytes);
  if (!head) return undefined;
  if (noBody(head.code)) return head.headEnd + 4;
  const size = head.headers.has('transfer-encoding') ? undefined : contentLength(head.headers);
  return size === undefined ? Number.POSITIVE_INFINITY : head.headEnd + 4 + size;
}

/** 1xx, 204 and 304 answers have no body (HEAD is never sent). */
function noBody(code: number): boolean {
  return code === 204 || code === 304 || (code >= 100 && code < 200);
}

function contentLength(headers: Map<string, string>): number | undefined {
  const length = headers.get('content-length');
  if (length === undefined) return undefined;
  if (!/^\d+$/.test(length)) throw new Error('the gateway answered a malformed Content-Length');
  return Number(length);
}

/** The status and headers, once the head is complete; throws on a malformed one. */
function parseHead(
  bytes: Buffer,
): { headEnd: number; code: number; headers: Map<string, string> } | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const lines = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (!status) throw new Error('the gateway answered something other than HTTP/1.1');
  const code = Number(status[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error('the gateway answered a malformed header');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { headEnd, code, headers };
}

/** A chunked body decoded, once its last chunk (and trailers) are in; undefined until then. */
function dechunk(body: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const sizeText = body.subarray(at, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error('the gateway answered a malformed chunk');
    const size = Number.parseInt(sizeText, 16);
    // The last chunk, then trailers, if any, up to an empty line.
    if (size === 0) return body.indexOf('\r\n\r\n', lineEnd) >= 0 ? Buffer.concat(parts) : undefined;
    const start = lineEnd + 2;
    if (body.length < start + size + 2) return undefined;
    if (body[start + size] !== 0x0d || body[start + size + 1] !== 0x0a)
      throw new Error('the gateway answered a malformed chunk');
    parts.push(body.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** Set by bin/bulkhead.js when node started without NODE_EXTRA_CA_CERTS, which it moved aside for `run`. */
const DEFERRED_CA = Symbol.for('bulkhead.deferredExtraCaCerts');

/**
 * What node would have trusted with NODE_EXTRA_CA_CERTS loaded at start-up (its own CA store and
 * every certificate in the file), for a process whose launcher kept the variable from node; for
 * any other, nothing (node's default). A file that cannot be read is warned of and left out, as
 * node does.
 */
export async function deferredCaOptions(): Promise<{ ca?: string[] }> {
  const file = (globalThis as Record<symbol, unknown>)[DEFERRED_CA];
  if (typeof file !== 'string' || file === '') return {};
  const { rootCertificates } = await import('node:tls');
  try {
    return { ca: [...rootCertificates, readFileSync(file, 'utf8')] };
  } catch (error) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(error as Error).message}`);
    return {};
  }
}

function readLocalToken(base: string): string {
  let port: number;
  try {
    const url = new URL(base);
    port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  } catch {
    throw new BulkheadError('bad_request', `--gateway ${base} is not a URL`);
  }
  try {
    return readFileSync(localTokenPath(port), 'utf8').trim();
  } catch {
    // No local token: requests will be refused with a clear 401 from the gateway.
    return '';
  }
}
