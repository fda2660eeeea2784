/**
 * Where a local gateway keeps its files (the operator token it writes for its
 * user): on its own so the CLI can find the token without loading the
 * operator module's hashing and secret resolution (node:crypto) into every
 * command's start-up.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function bulkheadHome(): string {
  return process.env.BULKHEAD_HOME ?? join(homedir(), '.bulkhead');
}

export function localTokenPath(port: number, home = bulkheadHome()): string {
  return join(home, `gateway-${port}.token`);
}
