/**
 * Operator authentication and permissions. Operators come from the policy
 * (token as a secret reference) plus one local admin whose token the gateway
 * generates and writes to a file only its user can read, so a local CLI needs
 * no setup. A run token never matches here: it is a different namespace.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Policy } from '../policy/schema/index.js';
import { resolveSecret, type SecretSource } from '../policy/secrets.js';
import { hashToken, mintToken, OPERATOR_TOKEN_PREFIX } from '../runs/tokens.js';
import { bulkheadHome, localTokenPath } from './local-home.js';

export { bulkheadHome, localTokenPath };

export interface Operator {
  name: string;
  roles: readonly string[];
}

export const PERMISSIONS = {
  view: ['admin', 'operator', 'viewer', 'approver'],
  'runs.create': ['admin', 'operator'],
  'runs.kill': ['admin', 'operator'],
  'runs.complete': ['admin', 'operator'],
  'policy.reload': ['admin'],
} as const satisfies Record<string, readonly string[]>;
export type Permission = keyof typeof PERMISSIONS;

export function can(operator: Operator, permission: Permission): boolean {
  const allowed: readonly string[] = PERMISSIONS[permission];
  return operator.roles.some((role) => allowed.includes(role));
}

export class OperatorAuth {
  private readonly byHash = new Map<string, Operator>();

  constructor(policy: Policy, source: SecretSource, local?: { token: string }) {
    for (const [name, op] of Object.entries(policy.operators)) {
      this.byHash.set(hashToken(resolveSecret(op.token, source, `operators.${name}.token`)), {
        name,
        roles: op.roles,
      });
    }
    if (local) this.byHash.set(hashToken(local.token), { name: 'local', roles: ['admin'] });
  }

  /** Takes over another instance's operators (a reloaded policy), in one synchronous step. */
  adopt(next: OperatorAuth): void {
    this.byHash.clear();
    for (const [hash, operator] of next.byHash) this.byHash.set(hash, operator);
  }

  /** Looks the token up by its hash: no early-exit string comparison to time. */
  authenticate(token: string | undefined): Operator | undefined {
    if (!token?.length) return undefined;
    return this.byHash.get(hashToken(token));
  }
}

/** Where a local gateway on `port` keeps its generated operator token. */

export function mintLocalToken(): string {
  return mintToken(OPERATOR_TOKEN_PREFIX);
}

/** Written only once the port is known; readable by this user alone. */
export function writeLocalToken(token: string, port: number, home = bulkheadHome()): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = localTokenPath(port, home);
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}
