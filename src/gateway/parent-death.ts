/**
 * Stdio upstreams die with the gateway, their whole process tree too. A
 * gateway killed with SIGKILL (or the OOM killer) cannot close its children,
 * and real upstreams are often wrappers (`npx -y server`, `sh -c '…'`,
 * `uv run …`) whose real server is a grandchild holding the upstream's
 * credentials in its environment. A parent-death signal on the wrapper alone
 * leaves that grandchild running unowned.
 *
 * So on Linux each stdio upstream gets its own PID namespace (util-linux
 * `unshare --pid`, with a user namespace when the gateway is not root). When
 * the namespace's first process dies the kernel kills every other process in
 * it, and that process is tied to the gateway by parent-death signals:
 *
 *   gateway ─ A: sh (pdeathsig KILL, in the gateway's namespace; the pid the SDK sees)
 *               └ B: sh, pid 1 of the new namespace (pdeathsig KILL towards A)
 *                    └ C: the configured command and everything it spawns
 *
 * kill -9 of the gateway kills A, A's death kills B, B's death kills the
 * namespace. A clean stop keeps its usual order (stdin ends, then SIGTERM,
 * then SIGKILL): A forwards SIGTERM/SIGINT/SIGHUP to B, B sends SIGTERM to
 * every process of the namespace (`kill -1`) and INT/HUP to the command.
 * Once the command ended, B asks what is left with SIGTERM, waits for it up
 * to 2 s (the SDK's SIGKILL comes then anyway) and exits with the command's
 * status; its exit SIGKILLs whatever still runs. The command keeps its
 * stdin/stdout/stderr, environment (the shells' own PWD/OLDPWD/SHLVL are
 * removed unless declared) and working directory.
 *
 * Fallbacks, each logged once as a warning: where a PID namespace cannot be
 * made (no unshare, user namespaces disabled, no CAP_SYS_ADMIN) the command
 * runs under `setpriv --pdeathsig KILL` (exec, same pid: the command dies with
 * the gateway, a process it spawned may not); without setpriv (not Linux, a
 * minimal image) it starts plainly and only a clean stop closes it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

const find = (...paths: string[]) =>
  process.platform === 'linux' ? paths.find((p) => existsSync(p)) : undefined;

const SETPRIV = find('/usr/bin/setpriv', '/bin/setpriv');
const UNSHARE = find('/usr/bin/unshare', '/bin/unshare');
const SH = find('/bin/sh', '/usr/bin/sh');

/** argv[0] of the supervising shells: how `ps` (and the start-up sweep) tells them apart. */
export const SUPERVISOR_NAME = 'bulkhead-upstream';
export const INIT_NAME = 'bulkhead-upstream-init';

/** Variables the shells set themselves; removed before the command starts unless the upstream declares them. */
const SHELL_VARIABLES = ['PWD', 'OLDPWD', 'SHLVL'];

/**
 * B, pid 1 of the namespace. $1: the shell variables to drop; $2: how many
 * declared ones follow as name/value pairs (restored as declared); the rest:
 * the command. A trap is what lets pid 1 receive a signal at all (the kernel
 * drops signals to a namespace's init that has no handler). Stdin is saved on
 * fd 3 because a background command's stdin is /dev/null in a
 * non-interactive shell. `exec` finds the command on PATH as a spawn would,
 * never a shell builtin of the same name.
 */
const INIT = `[ -z "$1" ] || unset $1
n=$2
shift 2
while [ "$n" -gt 0 ]; do export "$1=$2"; shift 2; n=$((n - 1)); done
exec 3<&0
trap 'kill -TERM -1 2>/dev/null' TERM
trap 'kill -INT $c 2>/dev/null' INT
trap 'kill -HUP $c 2>/dev/null' HUP
(exec "$@") <&3 3<&- &
c=$!
exec 3<&-
while :; do wait $c; s=$?; kill -0 $c 2>/dev/null || break; done
kill -TERM -1 2>/dev/null
i=0
while [ $i -lt 20 ] && kill -0 -1 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
exit $s`;

/** A, the gateway's child. $1: B's script; $2: setpriv; $3: sh; the rest: B's arguments. */
const SUPERVISE = `init=$1 setpriv=$2 sh=$3
shift 3
exec 3<&0
"$setpriv" --pdeathsig KILL -- "$sh" -c "$init" ${INIT_NAME} "$@" <&3 3<&- &
b=$!
exec 3<&-
trap 'kill -TERM $b 2>/dev/null' TERM
trap 'kill -INT $b 2>/dev/null' INT
trap 'kill -HUP $b 2>/dev/null' HUP
while :; do wait $b; s=$?; kill -0 $b 2>/dev/null || exit $s; done`;

export type Containment =
  /** The whole tree dies with the gateway. `unshare`: the arguments that make the namespace. */
  | { mode: 'pid-namespace'; unshare: string[] }
  /** Only the command's own process dies with the gateway. */
  | { mode: 'parent-death'; reason: string }
  /** Nothing ties the command to the gateway but a clean stop. */
  | { mode: 'none'; reason: string };

let probed: Promise<Containment> | undefined;

/** How stdio upstreams are tied to the gateway on this machine; probed once per process (a few ms). */
export function containment(): Promise<Containment> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<Containment> {
  if (!SETPRIV || !SH) return { mode: 'none', reason: 'setpriv (util-linux) was not found' };
  if (!UNSHARE) return { mode: 'parent-death', reason: 'unshare (util-linux) was not found' };
  // Root makes the namespace directly; anyone else (or a root without CAP_SYS_ADMIN) through a user namespace.
  const userNs = ['--user', '--map-current-user', '--pid'];
  const candidates = process.getuid?.() === 0 ? [['--pid'], userNs] : [userNs];
  let reason = '';
  for (const unshare of candidates) {
    // The whole chain, with `true` as the command: a namespace that cannot fork fails here, not at a call.
    const { command, args } = launchArgs(unshare, 'true', [], {});
    const error = await new Promise<string | null>((resolve) =>
      execFile(command, args, { timeout: 5_000 }, (err, _out, stderr) =>
        resolve(err ? (stderr.trim() || err.message).slice(0, 300) : null),
      ),
    );
    if (error === null) return { mode: 'pid-namespace', unshare };
    reason = `unshare ${unshare.join(' ')} failed: ${error}`;
  }
  return { mode: 'parent-death', reason };
}

function launchArgs(
  unshare: string[],
  command: string,
  args: string[],
  env: Record<string, string>,
): { command: string; args: string[] } {
  const drop = SHELL_VARIABLES.filter((name) => env[name] === undefined);
  const declared = SHELL_VARIABLES.filter((name) => env[name] !== undefined);
  return {
    command: SETPRIV as string,
    args: [
      '--pdeathsig',
      'KILL',
      '--',
      UNSHARE as string,
      ...unshare,
      '--',
      SH as string,
      '-c',
      SUPERVISE,
      SUPERVISOR_NAME,
      INIT,
      SETPRIV as string,
      SH as string,
      drop.join(' '),
      String(declared.length),
      ...declared.flatMap((name) => [name, env[name] as string]),
      command,
      ...args,
    ],
  };
}

/**
 * The command line that starts a stdio upstream tied to the gateway, and how
 * it is tied. `env` is the environment the upstream is given (its declared
 * names are kept even when a shell would set them).
 */
export async function withParentDeath(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ command: string; args: string[]; containment: Containment }> {
  const how = await containment();
  if (how.mode === 'pid-namespace')
    return { ...launchArgs(how.unshare, command, args, env), containment: how };
  if (how.mode === 'parent-death')
    return {
      command: SETPRIV as string,
      args: ['--pdeathsig', 'KILL', '--', command, ...args],
      containment: how,
    };
  return { command, args, containment: how };
}
