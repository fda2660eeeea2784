/** Opens the store the policy names; SQLite paths are relative to the policy file. */
import { isAbsolute, resolve } from 'node:path';
import type { Policy } from '../policy/schema/index.js';
import { resolveText, type SecretSource } from '../policy/secrets.js';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

export async function openStore(
  policy: Policy,
  source: SecretSource,
  options: { listen?: boolean } = {},
): Promise<Store> {
  const config = policy.store;
  if ('sqlite' in config) {
    const path =
      config.sqlite === ':memory:' || isAbsolute(config.sqlite)
        ? config.sqlite
        : resolve(source.dir, config.sqlite);
    return openSqliteStore(path);
  }
  return openPostgresStore(resolveText(config.postgres.url, source, 'store.postgres.url'), options);
}
