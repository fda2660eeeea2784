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
import { JAIL_BRIDGE, JAIL_RUNTIME, JAIL_WORKDIR } from './bwrap-argv.js';

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
 * The jail's first process (see stage.ts for the host's half): it unpacks the
 * workdir the host streams on fd 5 into /workspace, tells the host on fd 6,
 * waits for its `go` on fd 7 and closes all three, starts the bridges, checks
 * that the command exists, and execs it (so its exit code is the jail's).
 * socat bridges are started detached and waited for with shell builtins
 * reading /proc/net/tcp (a process per check would cost more than the wait).
 * Arguments: KIND NODE_SPEC [PORT HEXPORT SOCKET]... -- COMMAND...
 */
const JAIL_INIT = [
  'if ! err=$(tar -x -p -f - -C /workspace --no-same-owner 2>&1 <&5); then',
  '  printf "stage-failed %s\\n" "$(printf %s "$err" | tr "\\n" " " | cut -c1-800)" >&6; exit 125',
  'fi',
  'exec 5<&-',
  'echo staged >&6',
  'read -r go <&7 || exit 125',
  'exec 6>&- 7<&-',
  '[ "$go" = go ] || exit 125',
  'cd /workspace || exit 125',
  'kind=$1 spec=$2; shift 2',
  'listening() { while read -r _ local _ state _; do',
  '  [ "$local" = "0100007F:$1" ] && [ "$state" = 0A ] && return 0',
  'done < /proc/net/tcp; return 1; }',
  'wanted=',
  'while [ "$1" != -- ]; do',
  '  [ "$kind" = socat ] && (exec /usr/bin/socat -b 131072 "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork,backlog=128" "UNIX-CONNECT:$3" </dev/null &)',
  '  wanted="$wanted $2"; shift 3',
  'done',
  'shift',
  'missing() {',
  `  echo "bulkhead: $1: not found inside the jail, which sees /usr, the workdir at ${JAIL_WORKDIR}, /tmp and the profile's sandbox.mounts (PATH=$PATH); mount its folder read-only with sandbox.mounts in the profile" >&2`,
  '  exit 127; }',
  'case "$1" in */*) [ -f "$1" ] && [ -x "$1" ] || missing "$1" ;; *) command -v "$1" >/dev/null 2>&1 || missing "$1" ;; esac',
  `[ "$kind" = node ] && exec /usr/bin/node ${JAIL_BRIDGE} "$spec" -- "$@"`,
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

/** The argv run inside the jail: stage the workdir, start the bridges, then run `command`. */
export function bridgeEntry(
  kind: BridgeKind,
  bridges: readonly BridgeSpec[],
  command: readonly string[],
): string[] {
  const triples = bridges.flatMap((b) => [
    String(b.port),
    b.port.toString(16).toUpperCase().padStart(4, '0'),
    b.socket,
  ]);
  return [
    '/bin/sh',
    '-c',
    JAIL_INIT,
    'bulkhead-init',
    kind,
    JSON.stringify(bridges),
    ...triples,
    '--',
    ...command,
  ];
}

/**
 * A plain-JavaScript file that runs inside the jail (bridge.mjs, node-proxy.cjs): beside this
 * module when run from source, or in src/ when this module runs from the compiled dist/ (tsc does
 * not copy them). The jail gets a copy in its runtime folder.
 */
export function sandboxAsset(file: 'bridge.mjs' | 'node-proxy.cjs'): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, file), join(here, '..', '..', '..', 'src', 'sandbox', file)];
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new BulkheadError(
      'sandbox_unavailable',
      `the jail's ${file} is missing (looked in ${candidates.join(', ')})`,
    );
  }
  return found;
}

export function bridgeScriptPath(): string {
  return sandboxAsset('bridge.mjs');
}
