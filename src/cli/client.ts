/**
 * The CLI's client for a running gateway's operator API. The operator token
 * comes from BULKHEAD_OPERATOR_TOKEN, or from the file a local gateway writes
 * for its user (so a local demo needs no setup).
 */
import { readFileSync } from 'node:fs';
import { BulkheadError, type ErrorCode } from '../errors.js';
import { localTokenPath } from '../gateway/operators.js';

export const DEFAULT_GATEWAY = 'http://127.0.0.1:7300';

export interface ClientOptions {
  gateway?: string;
  token?: string;
}

export class GatewayClient {
  readonly base: string;
  private readonly token: string;

  constructor(options: ClientOptions = {}) {
    this.base = (options.gateway ?? process.env.BULKHEAD_GATEWAY ?? DEFAULT_GATEWAY).replace(/\/+$/, '');
    this.token = options.token ?? process.env.BULKHEAD_OPERATOR_TOKEN ?? readLocalToken(this.base);
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new BulkheadError(
        'gateway_unreachable',
        `no gateway answers at ${this.base} (start one with: bulkhead gateway --policy FILE)`,
        { cause: error },
      );
    }
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : {};
    if (!response.ok) {
      const { error, message } = parsed as { error?: ErrorCode; message?: string };
      throw new BulkheadError(error ?? 'bad_request', message ?? `gateway answered ${response.status}`);
    }
    return parsed as T;
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
