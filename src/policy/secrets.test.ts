import { describe, expect, it } from 'vitest';
import { parsePolicy } from './load.js';
import { resolveAllSecrets } from './secrets.js';

const policy = (store: string) =>
  parsePolicy(`
version: 1
store: ${store}
upstreams:
  u: { command: node }
profiles:
  p: { tools: [] }
`);

describe('resolveAllSecrets', () => {
  it('includes the password of a PostgreSQL URL given as plain text, as written and decoded', () => {
    const secrets = resolveAllSecrets(
      policy('{ postgres: { url: "postgres://bulkhead:p%40ss-w0rd-42@db.internal/bulkhead" } }'),
      { env: {}, dir: '/' },
    );
    expect(secrets).toEqual(expect.arrayContaining(['p%40ss-w0rd-42', 'p@ss-w0rd-42']));
  });

  it('includes the password of a URL read from the environment', () => {
    const secrets = resolveAllSecrets(policy('{ postgres: { url: { secret: DB_URL } } }'), {
      env: { DB_URL: 'postgresql://app:hunter2-long@127.0.0.1:5432/x' },
      dir: '/',
    });
    expect(secrets).toContain('hunter2-long');
  });

  it('adds nothing for a SQLite store or a URL without a password', () => {
    expect(resolveAllSecrets(policy('{ sqlite: x.db }'), { env: {}, dir: '/' })).toEqual([]);
    expect(
      resolveAllSecrets(policy('{ postgres: { url: "postgres://db/x" } }'), { env: {}, dir: '/' }),
    ).toEqual([]);
  });
});
