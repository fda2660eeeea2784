/** Opens the store the policy names; SQLite paths are relative to the policy file. */
import { isAbsolute, resolve } from 'node:path';
import { BulkheadError } from '../errors.js';
import type { Policy } from '../policy/schema/index.js';
import type { SecretSource } from '../policy/secrets.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

export async function openStore(policy: Policy, source: SecretSource): Promise<Store> {
  const config = policy.store;
  if ('sqlite' in config) {
    const path =
      config.sqlite === ':memory:' || isAbsolute(config.sqlite)
        ? config.sqlite
        : resolve(source.dir, config.sqlite);
    return openSqliteStore(path);
  }
  throw new BulkheadError('store_failed', 'the PostgreSQL store is not available in this build yet');
}
