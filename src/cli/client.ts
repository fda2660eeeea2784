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
import { request as httpRequest } from 'node:http';
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
 * One request with node:http rather than fetch: loading undici (fetch) costs
 * about 100 ms of a CLI command's start-up, more than the request itself.
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
  // node:https (with tls and crypto) only for a gateway that needs it: a local one is plain HTTP.
  const https = target.protocol === 'https:';
  const request = https ? (await import('node:https')).request : httpRequest;
  const trust = https ? await deferredCaOptions() : {};
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
