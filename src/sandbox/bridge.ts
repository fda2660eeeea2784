/**
 * The in-jail side of the bridges. Inside the jail only loopback exists; the
 * bridge program (bridge.mjs, plain JavaScript run by the jail's own node)
 * listens on 127.0.0.1 ports and forwards each connection to a Unix socket
 * bind-mounted from the host, then runs the agent command and exits with its
 * code. This module names the ports and finds the program on disk.
 *
 * bridge.mjs stays plain JavaScript on purpose: the jail has node from /usr
 * but not the TypeScript toolchain, and a generated copy could drift.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BulkheadError } from '../errors.js';
import { JAIL_RUNTIME } from './bwrap-argv.js';

/** Inside the jail: where the agent finds the gateway (MCP and LLM proxy) and the egress proxy. */
export const JAIL_GATEWAY_PORT = 7300;
export const JAIL_PROXY_PORT = 7301;

export interface BridgeSpec {
  port: number;
  /** Path of the Unix socket as the jail sees it. */
  socket: string;
}

/** Socket file names in the runtime folder, and the bridges that lead to them. */
export const GATEWAY_SOCKET = 'gateway.sock';
export const EGRESS_SOCKET = 'egress.sock';

export function jailBridges(): BridgeSpec[] {
  return [
    { port: JAIL_GATEWAY_PORT, socket: `${JAIL_RUNTIME}/${GATEWAY_SOCKET}` },
    { port: JAIL_PROXY_PORT, socket: `${JAIL_RUNTIME}/${EGRESS_SOCKET}` },
  ];
}

/**
 * The bridge program's host path: beside this module when run from source, or in src/ when
 * this module runs from the compiled dist/ (tsc does not copy .mjs files).
 */
export function bridgeScriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'bridge.mjs'), join(here, '..', '..', '..', 'src', 'sandbox', 'bridge.mjs')];
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new BulkheadError(
      'sandbox_unavailable',
      `the jail's bridge program is missing (looked in ${candidates.join(', ')})`,
    );
  }
  return found;
}
