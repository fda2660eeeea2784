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
 * made (no unshare, user namespaces disabled, no CAP_SYS_ADMIN: a container,
 * systemd's `RestrictNamespaces=yes`) the command runs under `setpriv
 * --pdeathsig KILL` (exec, same pid: the command dies with the gateway). What
 * it spawns would outlive a kill -9 of the gateway (reparented: `sh -c`'s
 * children, npx's server, a setsid daemon), so each such upstream's
 * environment carries `BULKHEAD_UPSTREAM_OF=<pid namespace>:<gateway
 * pid>:<its start time>`, which its descendants inherit, and a sweeper (a
 * shell started once, in a session of its own, reading a pipe from the
 * gateway) signals every process carrying it when that pipe ends: the
 * gateway's exit, clean or kill -9 (SIGTERM, up to 1 s, then SIGKILL). A
 * sweeper killed with the gateway (a cgroup OOM kill) leaves them to the next
 * start, which sweeps processes whose gateway is gone (`sweepLeftovers`).
 * Not swept: a descendant that starts with a cleared environment (`env -i`)
 * or as another user. Without setpriv (not Linux, a minimal image) the
 * command starts plainly and only a clean stop closes it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Writable } from 'node:stream';

const find = (...paths: string[]) =>
  process.platform === 'linux' ? paths.find((p) => existsSync(p)) : undefined;

const SETPRIV = find('/usr/bin/setpriv', '/bin/setpriv');
const UNSHARE = find('/usr/bin/unshare', '/bin/unshare');
const SH = find('/bin/sh', '/usr/bin/sh');

/** argv[0] of the supervising shells: how `ps` (and the start-up sweep) tells them apart. */
export const SUPERVISOR_NAME = 'bulkhead-upstream';
export const INIT_NAME = 'bulkhead-upstream-init';
export const SWEEPER_NAME = 'bulkhead-upstream-sweeper';

/** Carried by every process of an upstream contained by the fallback: which gateway it belongs to. */
export const OWNER_VARIABLE = 'BULKHEAD_UPSTREAM_OF';

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

/**
 * The sweeper. $1: the owner variable's assignment up to this gateway's part
 * (`BULKHEAD_UPSTREAM_OF=<ns>:<pid>:<start>:`, digits and colons only, so a
 * safe pattern). Reads its stdin (a pipe from the gateway) until it ends, then
 * signals every process whose initial environment holds a line starting so:
 * SIGTERM, up to 1 s for them to go, then SIGKILL until none is left. Its own
 * environment does not carry it. A zombie's environ reads empty, so the dead
 * are not waited for.
 */
const SWEEPER = `v=$1
trap '' HUP INT TERM
signal() {
  n=0
  for f in $(grep -lsz "^$v" /proc/[0-9]*/environ 2>/dev/null); do
    p=\${f#/proc/}
    kill -$1 "\${p%/environ}" 2>/dev/null && n=$((n + 1))
  done
  [ $n -gt 0 ]
}
while read -r _; do :; done
signal TERM || exit 0
i=0
while [ $i -lt 10 ] && signal 0; do sleep 0.1; i=$((i + 1)); done
i=0
while [ $i -lt 50 ] && signal KILL; do sleep 0.02; i=$((i + 1)); done`;

export type Containment =
  /** The whole tree dies with the gateway. `unshare`: the arguments that make the namespace. */
  | { mode: 'pid-namespace'; unshare: string[] }
  /**
   * The command's own process dies with the gateway; what it spawns is swept by its environment
   * (`sweep`: the sweeper runs; false where it could not start, then nothing below the command
   * is ended) and at the next start.
   */
  | { mode: 'parent-death'; reason: string; sweep: boolean }
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
  if (!UNSHARE) return { mode: 'parent-death', reason: 'unshare (util-linux) was not found', sweep: false };
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
  return { mode: 'parent-death', reason, sweep: false };
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
 * The command line that starts a stdio upstream tied to the gateway, the
 * environment to start it with, and how it is tied. `env` is the environment
 * the upstream is given (its declared names are kept even when a shell would
 * set them; the fallback adds the owner variable).
 */
export async function withParentDeath(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{
  command: string;
  args: string[];
  env: Record<string, string>;
  containment: Containment;
  /** Under the fallback: ends what is left of this start's processes once its connection closed. */
  sweep?: () => Promise<number>;
}> {
  const how = await containment();
  if (how.mode === 'pid-namespace')
    return { ...launchArgs(how.unshare, command, args, env), env, containment: how };
  if (how.mode === 'parent-death') {
    const owner = ownerValue();
    if (owner === undefined)
      return {
        command: SETPRIV as string,
        args: ['--pdeathsig', 'KILL', '--', command, ...args],
        env,
        containment: { ...how, sweep: false },
      };
    const sweep = startSweeper(`${OWNER_VARIABLE}=${owner}:`);
    // One value per start: closing this upstream sweeps its processes only.
    const tag = `${owner}:${++started}`;
    return {
      command: SETPRIV as string,
      args: ['--pdeathsig', 'KILL', '--', command, ...args],
      env: { ...env, [OWNER_VARIABLE]: tag },
      containment: { ...how, sweep },
      sweep: () => sweepTagged(tag),
    };
  }
  return { command, args, env, containment: how };
}

let started = 0;

/**
 * Whether a process runs as this gateway's user (real and effective uid), as its upstreams do:
 * a set-uid program someone started with a forged tag in its environment is not swept.
 */
const ours = (pid: string): boolean => {
  const uid = /^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const self = String(process.getuid?.());
  return uid?.[1] === self && uid[2] === self;
};

/** Processes carrying the owner variable (exactly `value`, or any with `''`) that `match` picks. */
const tagged = (value: string, match: (tag: string) => boolean): number[] => {
  const prefix = `${OWNER_VARIABLE}=`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const tag = readFileSync(`/proc/${entry}/environ`, 'latin1')
        .split('\0')
        .find((kv) => kv.startsWith(prefix))
        ?.slice(prefix.length);
      if (tag !== undefined && (value === '' || tag === value) && match(tag) && ours(entry))
        found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not this user's to read (nor to signal).
    }
  }
  return found;
};

const signal = (pids: number[], sig: NodeJS.Signals): void => {
  for (const pid of pids)
    try {
      process.kill(pid, sig);
    } catch {
      // Gone meanwhile.
    }
};

/**
 * Ends every process that carries `tag` (one start of an upstream under the fallback), as the
 * namespace's end would: SIGTERM, up to 1 s, then SIGKILL. After its connection closed: a
 * process it spawned holds the pipes open, so without this neither a stop nor a restart of
 * that upstream would end it, and the gateway would not exit.
 */
async function sweepTagged(tag: string): Promise<number> {
  const first = tagged(tag, () => true);
  signal(first, 'SIGTERM');
  for (let i = 0; i < 10 && tagged(tag, () => true).length > 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 50; i++) {
    const left = tagged(tag, () => true);
    if (left.length === 0) break;
    signal(left, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
  }
  return first.length;
}

/** A process as the owner variable names it: pid namespace, pid and start time (unique until reboot). */
function processKey(pid: number | 'self'): string | undefined {
  try {
    const ns = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`))?.[1];
    // Field 22 of stat, counted after the command name (which may hold spaces and parentheses).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const real = pid === 'self' ? Number(readlinkSync('/proc/self')) : pid;
    return ns && start ? `${ns}:${real}:${start}` : undefined;
  } catch {
    return undefined;
  }
}

let owner: string | null | undefined;
const ownerValue = (): string | undefined => {
  owner ??= processKey('self') ?? null;
  return owner ?? undefined;
};

let sweeper: boolean | undefined;

/**
 * Starts the sweeper once per gateway process; false when it cannot run. Its stdin is a pipe
 * whose other end only this process holds (libuv opens it close-on-exec, so no upstream
 * inherits it): the pipe ends when the gateway does, however it ends.
 */
function startSweeper(line: string): boolean {
  if (sweeper !== undefined) return sweeper;
  try {
    const child = spawn(SH as string, ['-c', SWEEPER, SWEEPER_NAME, line], {
      // Its own session: a Ctrl-C meant for the gateway does not stop the sweeper first.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    child.on('error', () => undefined);
    child.unref();
    // Neither the pipe nor the child keeps the gateway's event loop alive.
    (child.stdin as (Writable & { unref?: () => void }) | null)?.unref?.();
    sweeper = child.pid !== undefined;
  } catch {
    sweeper = false;
  }
  return sweeper;
}

/**
 * Signals (SIGKILL) the processes left by upstreams of gateways that are gone (their sweeper was
 * killed with them), in this pid namespace; never those of a live gateway. Resolves how many.
 * Only processes this user may read are seen, as only those could it kill.
 */
export function sweepLeftovers(): number {
  if (process.platform !== 'linux') return 0;
  const ns = ownerValue()?.split(':')[0];
  if (!ns) return 0;
  const live = new Map<string, boolean>();
  const dead = tagged('', (tag) => {
    const [tagNs, pid, start] = tag.split(':');
    if (tagNs !== ns || !pid || !start) return false;
    const owner = `${tagNs}:${pid}:${start}`;
    let alive = live.get(owner);
    if (alive === undefined) {
      alive = processKey(Number(pid)) === owner;
      live.set(owner, alive);
    }
    return !alive;
  });
  signal(dead, 'SIGKILL');
  return dead.length;
}
