/**
 * Resolves the policy's secret references. Every value resolved here is also
 * registered with the scrubber by the caller, so a secret the gateway knows is
 * a secret every sink hides. Errors name the reference, never a value.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BulkheadError } from '../errors.js';
import type { Policy, SecretRef, TextOrSecret } from './schema/index.js';

export interface SecretSource {
  env: NodeJS.ProcessEnv;
  /** Directory relative `file:` references resolve against. */
  dir: string;
}

export function describeRef(ref: SecretRef): string {
  return 'secret' in ref ? `secret ${ref.secret}` : `file ${ref.file}`;
}

export function resolveSecret(ref: SecretRef, source: SecretSource, where: string): string {
  let value: string | undefined;
  if ('secret' in ref) {
    value = source.env[ref.secret];
    if (value === undefined || value === '') {
      throw new BulkheadError(
        'secret_missing',
        `${where}: ${describeRef(ref)} is not set in the gateway's environment`,
      );
    }
  } else {
    try {
      value = readFileSync(resolve(source.dir, ref.file), 'utf8').trim();
    } catch (error) {
      throw new BulkheadError('secret_missing', `${where}: ${describeRef(ref)} cannot be read`, {
        cause: error,
      });
    }
    if (value === '') throw new BulkheadError('secret_missing', `${where}: ${describeRef(ref)} is empty`);
  }
  return (ref.prefix ?? '') + value;
}

export function resolveText(value: TextOrSecret, source: SecretSource, where: string): string {
  return typeof value === 'string' ? value : resolveSecret(value, source, where);
}

export function resolveRecord(
  record: Record<string, TextOrSecret>,
  source: SecretSource,
  where: string,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [key, resolveText(value, source, `${where}.${key}`)]),
  );
}

/** Every place a policy holds a secret reference, with its path for messages. */
export function secretRefs(policy: Policy): { where: string; ref: SecretRef }[] {
  const refs: { where: string; ref: SecretRef }[] = [];
  const take = (where: string, value: TextOrSecret | undefined) => {
    if (value !== undefined && typeof value !== 'string') refs.push({ where, ref: value });
  };
  for (const [name, up] of Object.entries(policy.upstreams)) {
    const values = 'command' in up ? up.env : up.headers;
    const field = 'command' in up ? 'env' : 'headers';
    for (const [key, value] of Object.entries(values)) take(`upstreams.${name}.${field}.${key}`, value);
  }
  for (const [name, op] of Object.entries(policy.operators)) take(`operators.${name}.token`, op.token);
  for (const [name, n] of Object.entries(policy.notifiers)) {
    take(`notifiers.${name}.url`, n.url);
    if (n.type === 'webhook') take(`notifiers.${name}.signing_key`, n.signing_key);
  }
  if (policy.llm) take('llm.api_key', policy.llm.api_key);
  if ('postgres' in policy.store) take('store.postgres.url', policy.store.postgres.url);
  policy.scrub.secrets.forEach((ref, i) => {
    take(`scrub.secrets.${i}`, ref);
  });
  return refs;
}

/**
 * Resolves every secret the policy names, failing on the first missing one
 * with its location. Returns the values (without prefixes) for the scrubber.
 */
export function resolveAllSecrets(policy: Policy, source: SecretSource): string[] {
  const secrets = secretRefs(policy).map(({ where, ref }) =>
    resolveSecret({ ...ref, prefix: '' }, source, where),
  );
  // A store URL given as plain text (the policy, --store, BULKHEAD_STORE_URL) still holds a password.
  if ('postgres' in policy.store)
    secrets.push(...urlPassword(resolveText(policy.store.postgres.url, source, 'store.postgres.url')));
  return secrets;
}

/** The password of a URL, as written and decoded (a driver's error may quote either). */
function urlPassword(url: string): string[] {
  let password = '';
  try {
    password = new URL(url).password;
  } catch {
    return [];
  }
  if (!password) return [];
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // A malformed escape: the raw form is all there is.
  }
  return [...new Set([password, decoded])];
}
