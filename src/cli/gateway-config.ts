/**
 * How `bulkhead gateway` is configured: every flag also has an environment
 * variable (a flag wins over the variable, the variable over the policy), so
 * the same command runs from a shell, a systemd unit or a container. Values
 * are checked here, before anything starts, and a bad one names its source.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BulkheadError } from '../errors.js';
import type { StoreConfig } from '../policy/schema/index.js';

export const GATEWAY_ENV = {
  policy: 'BULKHEAD_POLICY',
  port: 'BULKHEAD_PORT',
  host: 'BULKHEAD_HOST',
  logLevel: 'BULKHEAD_LOG_LEVEL',
  store: 'BULKHEAD_STORE_URL',
  tlsCert: 'BULKHEAD_TLS_CERT',
  tlsKey: 'BULKHEAD_TLS_KEY',
  watch: 'BULKHEAD_WATCH_POLICY',
} as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface GatewayFlags {
  policy: string;
  port: string;
  host: string;
  logLevel?: string;
  store?: string;
  tlsCert?: string;
  tlsKey?: string;
  watch?: boolean;
}

export interface GatewayConfig {
  port: number;
  host: string;
  logLevel?: string;
  /** Replaces the policy's `store:` when given. */
  store?: StoreConfig;
  tls?: { cert: string; key: string };
}

export function gatewayConfig(flags: GatewayFlags): GatewayConfig {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new BulkheadError(
      'bad_request',
      `--port / ${GATEWAY_ENV.port}: expected a port number, found "${flags.port}"`,
    );
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey))
    throw new BulkheadError(
      'bad_request',
      `TLS needs both --tls-cert (${GATEWAY_ENV.tlsCert}) and --tls-key (${GATEWAY_ENV.tlsKey})`,
    );
  return {
    port,
    host: flags.host,
    ...(flags.logLevel ? { logLevel: flags.logLevel } : {}),
    ...(flags.store ? { store: storeFromUrl(flags.store) } : {}),
    ...(flags.tlsCert && flags.tlsKey
      ? { tls: { cert: readPem(flags.tlsCert, '--tls-cert'), key: readPem(flags.tlsKey, '--tls-key') } }
      : {}),
  };
}

/** `postgres://…` or `postgresql://…` is a PostgreSQL server; anything else a SQLite file (relative to the cwd). */
export function storeFromUrl(value: string): StoreConfig {
  if (/^postgres(ql)?:\/\//i.test(value)) return { postgres: { url: value } };
  const path = value.replace(/^sqlite:(\/\/)?/i, '');
  if (!path)
    throw new BulkheadError(
      'bad_request',
      `--store / ${GATEWAY_ENV.store}: expected a SQLite path or postgres:// URL`,
    );
  return { sqlite: path === ':memory:' ? path : resolve(path) };
}

function readPem(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new BulkheadError(
      'bad_request',
      `${flag}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (!text.includes('-----BEGIN '))
    throw new BulkheadError('bad_request', `${flag}: ${file} is not a PEM file`);
  return text;
}
