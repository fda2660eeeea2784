/**
 * The in-jail side of the bridges. Inside the jail only loopback exists; a
 * bridge listens on 127.0.0.1 ports and forwards each connection to a Unix
 * socket bind-mounted from the host (the gateway, the egress proxy); where
 * each socket leads is decided on the host. Only once every port listens is
 * the agent command started, so its first connection cannot race the bridge.
 *
 * Two bridges, same contract:
 * - `socat` (Debian package socat) when the host has it: a few milliseconds
 *   to start. Started detached, so an agent that waits for its children
 *   does not wait for the bridge; the agent replaces the shell (exec), so
 *   its exit code is the jail's.
 * - `node` (bridge.mjs, plain JavaScript on the jail's own node) otherwise:
 *   no extra package, but node's start-up is added to every jail's.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BulkheadError } from '../errors.js';
import { JAIL_BRIDGE, JAIL_RUNTIME } from './bwrap-argv.js';

/** Inside the jail: where the agent finds the gateway (MCP and LLM proxy) and the egress proxy. */
export const JAIL_GATEWAY_PORT = 7300;
export const JAIL_PROXY_PORT = 7301;

export interface BridgeSpec {
  port: number;
  /** Path of the Unix socket as the jail sees it. */
  socket: string;
}

export type BridgeKind = 'socat' | 'node';

/** Socket file names in the runtime folder, and the bridges that lead to them. */
export const GATEWAY_SOCKET = 'gateway.sock';
export const EGRESS_SOCKET = 'egress.sock';

export function jailBridges(): BridgeSpec[] {
  return [
    { port: JAIL_GATEWAY_PORT, socket: `${JAIL_RUNTIME}/${GATEWAY_SOCKET}` },
    { port: JAIL_PROXY_PORT, socket: `${JAIL_RUNTIME}/${EGRESS_SOCKET}` },
  ];
}

/** socat when installed (in /usr, which the jail sees), else node. */
export function defaultBridgeKind(exists: (path: string) => boolean = existsSync): BridgeKind {
  return exists('/usr/bin/socat') ? 'socat' : 'node';
}

/**
 * Starts each socat detached, waits until /proc/net/tcp shows every port listening on
 * 127.0.0.1, then execs the agent. Arguments: PORT HEXPORT SOCKET ... -- COMMAND...
 * The wait uses shell builtins only (a process per check would cost more than the wait).
 */
const SOCAT_BRIDGE = [
  'listening() { while read -r _ local _ state _; do',
  '  [ "$local" = "0100007F:$1" ] && [ "$state" = 0A ] && return 0',
  'done < /proc/net/tcp; return 1; }',
  'while [ "$1" != -- ]; do',
  '  (exec /usr/bin/socat -b 131072 "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork,backlog=128" "UNIX-CONNECT:$3" </dev/null &)',
  '  wanted="$wanted $2"; shift 3',
  'done',
  'shift',
  'tries=0',
  'for hex in $wanted; do',
  '  until listening "$hex"; do',
  '    tries=$((tries + 1))',
  '    if [ "$tries" -gt 3000 ]; then echo "bulkhead bridge: a bridge port did not open" >&2; exit 125; fi',
  '    if [ $((tries % 100)) -eq 0 ]; then sleep 0.01; fi',
  '  done',
  'done',
  'exec "$@"',
].join('\n');

/** The argv run inside the jail: the bridge, which then runs `command`. */
export function bridgeEntry(
  kind: BridgeKind,
  bridges: readonly BridgeSpec[],
  command: readonly string[],
): string[] {
  if (kind === 'node') return ['/usr/bin/node', JAIL_BRIDGE, JSON.stringify(bridges), '--', ...command];
  const triples = bridges.flatMap((b) => [
    String(b.port),
    b.port.toString(16).toUpperCase().padStart(4, '0'),
    b.socket,
  ]);
  return ['/bin/sh', '-c', SOCAT_BRIDGE, 'bulkhead-bridge', ...triples, '--', ...command];
}

/**
 * The node bridge program's host path: beside this module when run from source, or in src/
 * when this module runs from the compiled dist/ (tsc does not copy .mjs files).
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
