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
 * The jail's first process (see stage.ts for the host's half). It starts the
 * socat bridges and, at the same time, unpacks the workdir the host streams
 * on fd 5 into /workspace; tells the host on fd 6, waits for its `go` on fd 7
 * and closes all three; waits until both bridges listen; checks that the
 * command exists, and execs it (so its exit code is the jail's).
 *
 * Readiness without polling: each socat runs with `-d -d`, whose first notice
 * is `listening on ...`; its stderr is a pipe to a reader that returns once
 * every bridge has said so (or one has logged an error). The reader then
 * exits, and socat's later notices (one per connection) meet a closed pipe:
 * socat is started with SIGPIPE ignored, so those writes fail with EPIPE and
 * socat carries on. (Polling /proc/net/tcp from the shell, a byte per read,
 * took a core away from the very socat it waited for.) The bridges and the
 * reader never hold the staging descriptors.
 * An empty workdir is not archived: STAGE `empty` skips the unpacking.
 * With no bridge to start (KIND `none`: the host listens inside the jail on both ports,
 * egress-listen.ts) the init starts nothing beside the staging and forks nothing at all for an
 * empty workdir: the agent replaces it.
 * Arguments: KIND NODE_SPEC STAGE [PORT SOCKET]... -- COMMAND...
 */
const JAIL_INIT = [
  'kind=$1 spec=$2 stage=$3 bridging=; shift 3',
  // -t 86400: a client's half-close is passed on (socat shuts the socket's writing half) and the
  // answer still comes back however long it takes; by default socat cut it 0.5 s after the EOF.
  // A connection ends as soon as both directions have (a fully closed client: at the first write
  // back). One fork per socat: this runs in the pipeline's own subshell, which ends at once, so each
  // socat is orphaned to the jail's pid 1 (never the agent's child) and inherits SIGPIPE ignored.
  'bridges() { trap "" PIPE; while [ "$1" != -- ]; do',
  '  /usr/bin/socat -d -d -b 131072 -t 86400 "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork,backlog=128" "UNIX-CONNECT:$2" 2>&1 >/dev/null </dev/null &',
  '  shift 2; done; }',
  'ready() { n=0; while read -r line; do case $line in',
  '  *" N listening on "*) n=$((n + 1)); [ "$n" -ge "$1" ] && return 0 ;;',
  '  *" E "*) echo "bulkhead bridge: $line" >&2; return 1 ;;',
  '  esac; done; echo "bulkhead bridge: a bridge did not start" >&2; return 1; }',
  'want=0; for a in "$@"; do [ "$a" = -- ] && break; want=$((want + 1)); done',
  'if [ "$kind" = socat ]; then { bridges "$@" | ready $((want / 2)); } 5<&- 6>&- 7<&- & bridging=$!; fi',
  'if [ "$stage" = empty ]; then :; elif ! err=$(tar -x -p -f - -C /workspace --no-same-owner 2>&1 <&5); then',
  '  printf "stage-failed %s\\n" "$(printf %s "$err" | tr "\\n" " " | cut -c1-800)" >&6; exit 125',
  'fi',
  'exec 5<&-',
  'echo staged >&6',
  'read -r go <&7 || exit 125',
  'exec 6>&- 7<&-',
  '[ "$go" = go ] || exit 125',
  // What only the run knows, when the jail was built while the run was created (jail.ts, `late`).
  `if [ -f ${JAIL_RUNTIME}/run.env ]; then . ${JAIL_RUNTIME}/run.env || exit 125; fi`,
  'cd /workspace || exit 125',
  'while [ "$1" != -- ]; do shift 2; done',
  'shift',
  'missing() {',
  `  echo "bulkhead: $1: not found inside the jail, which sees /usr, the workdir at ${JAIL_WORKDIR}, /tmp and the profile's sandbox.mounts (PATH=$PATH); mount its folder read-only with sandbox.mounts in the profile" >&2`,
  '  exit 127; }',
  'case "$1" in */*) [ -f "$1" ] && [ -x "$1" ] || missing "$1" ;; *) command -v "$1" >/dev/null 2>&1 || missing "$1" ;; esac',
  `[ "$kind" = node ] && exec /usr/bin/node ${JAIL_BRIDGE} "$spec" -- "$@"`,
  'if [ -n "$bridging" ]; then wait "$bridging" || exit 125; fi',
  'exec "$@"',
].join('\n');

/**
 * The argv run inside the jail: stage the workdir, start the bridges (none when `bridges` is empty,
 * whatever `kind`), then run `command`.
 */
export function bridgeEntry(
  kind: BridgeKind,
  bridges: readonly BridgeSpec[],
  command: readonly string[],
  stage: 'tar' | 'empty' = 'tar',
): string[] {
  const pairs = bridges.flatMap((b) => [String(b.port), b.socket]);
  return [
    '/bin/sh',
    '-c',
    JAIL_INIT,
    'bulkhead-init',
    bridges.length === 0 ? 'none' : kind,
    JSON.stringify(bridges),
    stage,
    ...pairs,
    '--',
    ...command,
  ];
}

/**
 * A plain script the sandbox runs as is (bridge.mjs and node-proxy.cjs inside the jail, of which
 * the jail gets a copy in its runtime folder; splice-relay.py, splice-serve.py and egress-listen.pl on
 * the host): beside
 * this module when run from source, or in src/ when this module runs from the compiled dist/ (tsc
 * does not copy them).
 */
export function sandboxAsset(
  file: 'bridge.mjs' | 'node-proxy.cjs' | 'splice-relay.py' | 'splice-serve.py' | 'egress-listen.pl',
): string {
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
