/** Opens the store the policy names; SQLite paths are relative to the policy file. */
import { isAbsolute, resolve } from 'node:path';
import type { Policy } from '../policy/schema/index.js';
import { resolveText, type SecretSource } from '../policy/secrets.js';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

/**
 * Which store the policy names, without credentials: the SQLite file's absolute path, or the
 * PostgreSQL host, port and database. The audit anchor (src/events/anchor.ts) is kept per store.
 */
export function storeLocation(policy: Policy, source: SecretSource): string {
  const config = policy.store;
  if ('sqlite' in config) return sqlitePath(config.sqlite, source);
  const url = resolveText(config.postgres.url, source, 'store.postgres.url');
  try {
    const u = new URL(url);
    return `postgres://${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    // A libpq key/value string: keep only what names the server and database.
    const parts = url.match(/\b(host|hostaddr|port|dbname)=\S+/g) ?? [];
    return `postgres:${parts.sort().join(' ')}`;
  }
}

function sqlitePath(file: string, source: SecretSource): string {
  return file === ':memory:' || isAbsolute(file) ? file : resolve(source.dir, file);
}

export async function openStore(
  policy: Policy,
  source: SecretSource,
  options: { listen?: boolean; backgroundCheckpoints?: boolean } = {},
): Promise<Store> {
  const config = policy.store;
  if ('sqlite' in config) {
    return openSqliteStore(
      sqlitePath(config.sqlite, source),
      options.backgroundCheckpoints ? { backgroundCheckpoints: true } : {},
    );
  }
  return openPostgresStore(resolveText(config.postgres.url, source, 'store.postgres.url'), options);
}
