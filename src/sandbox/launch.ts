/**
 * How the jail's process chain is started on the host, and the check that it
 * can be. The chain is: bash (joins the cgroup, closes every inherited file
 * descriptor but the ones bwrap and the staging need) -> setpriv (only when
 * the launcher is root: becomes the jail's unprivileged identity) -> prlimit
 * (only for rlimit fallbacks) -> unshare and sh mounting the inode-bounded tmpfs (only without a
 * memory cgroup, sized-mounts.ts) -> bwrap.
 *
 * A root launcher whose jail's ports are listened on from the host (the
 * egress listener's helper, egress-listen.ts) starts the chain with perl
 * instead (PERL_LAUNCHER): the same steps in one process, with the helper a
 * fork of it rather than a new perl, and the identity dropped by its own
 * system calls rather than setpriv. bash, setpriv and a second perl cost
 * about 20 ms of CPU on every jail's start; the test in launch.test.ts
 * compares what bwrap is started with (identity, groups, capabilities,
 * cgroups, descriptors) on both paths.
 *
 * Node opens its own files close-on-exec, but a descriptor the launcher
 * inherited from whatever started it (a shell's `3</etc/shadow`, a CI
 * runner's pipes, a socket) stays open across exec: inside the jail an open
 * directory is a way back to the host's filesystem (openat), an open socket
 * a way to the network. So the first process closes them all by number.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { Writable } from 'node:stream';
import { BulkheadError } from '../errors.js';
import { PERL } from './egress-listen.js';
import { dropPrivileges, type JailIdentity } from './identity.js';

/** Descriptors the chain keeps: stdio, bwrap's status (3) and seccomp (4), and the staging pipes (5-7). */
export const KEPT_FDS = [0, 1, 2, 3, 4, 5, 6, 7] as const;
/** Where the launcher gets node's IPC channel for the egress listener's helper (never kept for bwrap). */
export const LISTENER_CHANNEL_FD = 8;
/** Where a prepared launcher (prepareLaunch) reads its chain from node (never kept for bwrap). */
export const CHAIN_FD = 9;

const PRELUDE = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
  'for p in /proc/$$/fd/*; do n=${p##*/}',
  `  case $n in ${[...KEPT_FDS, LISTENER_CHANNEL_FD].join('|')}) ;; *) eval "exec $n>&-" 2>/dev/null ;; esac`,
  'done',
  // The egress listener's helper (egress-listen.ts), when asked: started before the cgroup is
  // joined and the identity dropped, so it is root outside the jail's cgroup, with node's IPC
  // channel (fd 8) and none of bwrap's descriptors. Then fd 8 is closed: bwrap never holds it.
  'if [ -n "$BULKHEAD_LISTEN" ]; then',
  '  /usr/bin/perl -- "$BULKHEAD_LISTEN" $BULKHEAD_LISTEN_ARGS </dev/null >/dev/null 3>&- 4<&- 5<&- 6>&- 7<&- &',
  'fi',
  `exec ${LISTENER_CHANNEL_FD}>&-`,
  // 0 is the writer itself (cgroup.ts: joinFiles says why not $$ into cgroup.procs on v1).
  'for f in $BULKHEAD_CGROUP_JOIN; do echo 0 > "$f" || exit 126; done',
  // bwrap itself shows inside the jail (pid 1) with its environment: no host path in it.
  'unset BULKHEAD_CGROUP_JOIN BULKHEAD_LISTEN BULKHEAD_LISTEN_ARGS NODE_CHANNEL_FD NODE_CHANNEL_SERIALIZATION_MODE',
  'exec "$@"',
].join('\n');

/** System calls the perl launcher makes, by machine (none elsewhere: then bash and setpriv). */
const LAUNCHER_SYSCALLS: Partial<Record<string, readonly number[]>> = {
  // close, setgroups, setresgid, setresuid, capset
  x64: [3, 116, 119, 117, 126],
  arm64: [57, 159, 149, 147, 91],
};

/**
 * The chain's first process as perl, for a root launcher with the listener's helper (no module:
 * each costs milliseconds). Prepared (BULKHEAD_WAIT, prepareLaunch): it first closes every
 * descriptor but 0-9 (and 4 when it is given no seccomp program) and waits for its chain on fd 9:
 * its length in bytes and a newline, then the cgroup files and the command, each NUL-terminated
 * (read by length, so node's end of the pipe need not be closed first), the first field the
 * jail's `uid gid` to drop to (empty: the identity it was prepared with); the pipe's end before
 * any length means no jail: it exits 0 having started nothing. It closes 9, and goes on as below. Steps, in the order of PRELUDE's: close every descriptor but 0-8;
 * fork the helper (root, outside the cgroup, stdin and stdout /dev/null, none of 3-7, the channel
 * at 8, run in the fork with `do`); close 8; join the cgroups (exit 126 if it cannot); become the
 * jail's identity when asked (no groups, real/effective/saved ids, no capability in any set, each
 * checked in /proc/self/status afterwards; exit 125 if any step fails); exec the rest of the
 * chain with PATH alone in the environment (bwrap clears it for the jail in any case).
 */
export const PERL_LAUNCHER = String.raw`
my ($close, $setgroups, $setresgid, $setresuid, $capset) = map { $_ + 0 } split ' ', $ENV{BULKHEAD_SYSCALLS};
my $wait = defined $ENV{BULKHEAD_WAIT};
opendir(my $fds, '/proc/self/fd') or exit 126;
my @inherited = grep { /^\d+$/ && $_ > ($wait ? ${CHAIN_FD} : ${LISTENER_CHANNEL_FD}) } readdir $fds;
closedir $fds;
syscall($close, $_ + 0) for @inherited;
if ($wait) {
  # No program for bwrap (BULKHEAD_SECCOMP unset): fd 4 is closed, as launch() leaves it.
  syscall($close, 4) unless defined $ENV{BULKHEAD_SECCOMP};
  open(my $told, '<&=', ${CHAIN_FD}) or exit 126;
  my $size = <$told>;
  defined $size or exit 0;
  $size =~ /^(\d+)\n\z/ or exit 126;
  my ($want, $chain) = ($1, '');
  while (length $chain < $want) {
    read($told, $chain, $want - length $chain, length $chain) or exit 126;
  }
  close $told;
  $chain =~ s/\0\z// or exit 126;
  my ($drop, $join);
  ($drop, $join, @ARGV) = split /\0/, $chain, -1;
  @ARGV or exit 126;
  $ENV{BULKHEAD_CGROUP_JOIN} = $join;
  # This jail's own identity (identity.ts), known only now; empty: the one it was prepared with.
  if (length $drop) { $drop =~ /^\d+ \d+\z/ or exit 126; $ENV{BULKHEAD_DROP} = $drop; }
}
if (defined $ENV{BULKHEAD_LISTEN}) {
  my $helper = fork;
  defined $helper or exit 126;
  if ($helper == 0) {
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>', '/dev/null');
    syscall($close, $_ + 0) for ${KEPT_FDS.filter((fd) => fd > 2).join(', ')};
    my $script = $ENV{BULKHEAD_LISTEN};
    @ARGV = split ' ', $ENV{BULKHEAD_LISTEN_ARGS};
    %ENV = (NODE_CHANNEL_FD => $ENV{NODE_CHANNEL_FD});
    do $script;
    print STDERR "bulkhead egress listener: cannot run $script: ", ($@ || $!), "\n";
    exit 3;
  }
}
syscall($close, ${LISTENER_CHANNEL_FD});
for my $file (split ' ', $ENV{BULKHEAD_CGROUP_JOIN}) {
  my $cgroup;
  open($cgroup, '>', $file) && print($cgroup "0\n") && close($cgroup) or exit 126;
}
if (defined $ENV{BULKHEAD_DROP}) {
  my ($uid, $gid) = map { $_ + 0 } split ' ', $ENV{BULKHEAD_DROP};
  syscall($setgroups, 0, 0) == 0 or exit 125;
  syscall($setresgid, $gid, $gid, $gid) == 0 or exit 125;
  syscall($setresuid, $uid, $uid, $uid) == 0 or exit 125;
  # _LINUX_CAPABILITY_VERSION_3, this process; effective, permitted and inheritable empty (both words).
  my ($header, $sets) = (pack('L l', 0x20080522, 0), pack('L6', 0, 0, 0, 0, 0, 0));
  syscall($capset, $header, $sets) == 0 or exit 125;
  open(my $status, '<', '/proc/self/status') or exit 125;
  my $now = join '', <$status>;
  $now =~ /^Uid:\t$uid\t$uid\t$uid\t$uid$/m && $now =~ /^Gid:\t$gid\t$gid\t$gid\t$gid$/m && $now =~ /^Groups:[ \t]*$/m
    && !grep({ !/^0+$/ } $now =~ /^Cap(?:Inh|Prm|Eff|Amb):\t(\w+)$/mg) && 4 == (() = $now =~ /^Cap(?:Inh|Prm|Eff|Amb):/mg)
    or exit 125;
}
%ENV = (PATH => '/usr/bin:/bin:/usr/sbin:/sbin');
exec { $ARGV[0] } @ARGV;
exit 127;
`;

export interface LaunchSpec {
  identity: JailIdentity;
  joinFiles: readonly string[];
  prlimitArgs: readonly string[];
  /** Steps between prlimit and bwrap (sized-mounts.ts premountArgv); none when empty or absent. */
  premount?: readonly string[];
  bwrapArgv: readonly string[];
  /** fd 0-2 for the agent, then bwrap's status pipe, the seccomp program, and the staging pipes. */
  stdio: readonly StdioEntry[];
  /**
   * The egress listener's helper (egress-listen.pl and its arguments), started by the launcher as
   * root before anything else, with node's IPC channel: the returned child's `send`, `message`
   * and `disconnect` are that helper's.
   */
  listener?: { script: string; args: readonly string[] };
  /**
   * The chain's first process: `perl` (PERL_LAUNCHER) by default when a listener's helper is asked
   * for and this machine's system call numbers are known, `bash` (PRELUDE, then setpriv) otherwise.
   */
  via?: 'perl' | 'bash';
}

type StdioEntry = Exclude<NonNullable<Parameters<typeof spawn>[2]>['stdio'], string | undefined>[number];

/** What the chain is, once the jail's cgroup and bwrap's command line are known. */
export interface LaunchChain {
  /** This jail's own identity (claimJailIdentity); the prepared launcher's when not given. */
  identity?: JailIdentity;
  joinFiles: readonly string[];
  prlimitArgs: readonly string[];
  premount?: readonly string[];
  bwrapArgv: readonly string[];
}

/** The chain from prlimit on: what every launcher execs once it has joined the cgroups and dropped the identity. */
function chainArgv(chain: Pick<LaunchChain, 'prlimitArgs' | 'premount' | 'bwrapArgv'>): string[] {
  return [
    ...(chain.prlimitArgs.length > 0 ? ['prlimit', ...chain.prlimitArgs, '--'] : []),
    ...(chain.premount ?? []),
    'bwrap',
    ...chain.bwrapArgv,
  ];
}

/**
 * A launcher started before its jail is known: the perl launcher (a root launcher with the
 * listener's helper), already running and waiting for its chain, so perl's start (~9 ms of CPU,
 * more of wall) is not on the path from a known jail to bwrap. `start` hands it the chain: from
 * there it does exactly what `launch` starts (the same script). Its descriptors are those `launch`
 * gives, but 4 (the seccomp program, written at once, which bwrap reads to its end) and 9 (the
 * chain).
 */
export interface PreparedLaunch {
  /** The launcher, then bwrap: its pid, exit, stdio (3 and 5-7 are the jail's) and IPC channel. */
  readonly child: ChildProcess;
  /** The seccomp program bwrap finds on fd 4 (bwrap must be told `--seccomp 4` exactly then). */
  readonly seccomp: Buffer | undefined;
  /** The agent's fd 0-2 as given (one for all three), for a jail to check they are its own. */
  readonly stdio: 'inherit' | 'pipe' | 'ignore' | undefined;
  start(chain: LaunchChain): ChildProcess;
  /** Ends it unused: it exits without starting anything (its helper is never forked). */
  cancel(): void;
}

/**
 * The perl launcher, prepared (see PreparedLaunch), with the listener's helper; undefined where
 * `launch` would not take perl (no system call numbers for this machine).
 */
export function prepareLaunch(spec: {
  identity: JailIdentity;
  /** The agent's fd 0-2: one for all three, or each. */
  stdio: 'inherit' | 'pipe' | 'ignore' | readonly [StdioEntry, StdioEntry, StdioEntry];
  listener: { script: string; args: readonly string[] };
  seccomp: Buffer | undefined;
}): PreparedLaunch | undefined {
  const syscalls = LAUNCHER_SYSCALLS[process.arch];
  if (!syscalls) return undefined;
  const agent = typeof spec.stdio === 'string' ? [spec.stdio, spec.stdio, spec.stdio] : spec.stdio;
  const child = spawn(PERL, ['-e', PERL_LAUNCHER, '--'], {
    stdio: [...agent, 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'ipc', 'pipe'],
    env: {
      PATH: '/usr/bin:/bin:/usr/sbin:/sbin',
      BULKHEAD_WAIT: '1',
      BULKHEAD_LISTEN: spec.listener.script,
      BULKHEAD_LISTEN_ARGS: spec.listener.args.join(' '),
      BULKHEAD_SYSCALLS: syscalls.join(' '),
      ...(spec.seccomp ? { BULKHEAD_SECCOMP: '1' } : {}),
      ...(spec.identity.dropped ? { BULKHEAD_DROP: `${spec.identity.uid} ${spec.identity.gid}` } : {}),
    },
  });
  // A launcher that could not start shows in the jail's start (its exit, or the spawn error there).
  child.on('error', () => undefined);
  const pipes = child.stdio as unknown as readonly (Writable | null)[];
  const chainPipe = pipes[CHAIN_FD];
  const seccompPipe = pipes[4];
  for (const pipe of [chainPipe, seccompPipe]) pipe?.on('error', () => undefined);
  // Now, long before bwrap reads it: its end is there by then, whatever this thread is doing.
  if (spec.seccomp) seccompPipe?.write(spec.seccomp);
  seccompPipe?.end();
  let used = false;
  return {
    child,
    seccomp: spec.seccomp,
    stdio: typeof spec.stdio === 'string' ? spec.stdio : undefined,
    start(chain) {
      if (used) throw new BulkheadError('sandbox_unavailable', 'the prepared launcher was already used');
      used = true;
      const argv = chainArgv(chain);
      const drop = chain.identity?.dropped ? `${chain.identity.uid} ${chain.identity.gid}` : '';
      const body = Buffer.from(`${[drop, chain.joinFiles.join(' '), ...argv].join('\0')}\0`);
      chainPipe?.write(Buffer.concat([Buffer.from(`${body.length}\n`), body]));
      chainPipe?.end();
      return child;
    },
    cancel() {
      if (used) return;
      used = true;
      chainPipe?.end();
      if (child.connected) child.disconnect();
    },
  };
}

export function launch(spec: LaunchSpec): ChildProcess {
  const syscalls = LAUNCHER_SYSCALLS[process.arch];
  const via = spec.via ?? (spec.listener && syscalls ? 'perl' : 'bash');
  if (via === 'perl' && !syscalls)
    throw new BulkheadError('sandbox_unavailable', `no system call numbers for ${process.arch}`);
  const chain = chainArgv(spec);
  const env = {
    PATH: '/usr/bin:/bin:/usr/sbin:/sbin',
    BULKHEAD_CGROUP_JOIN: spec.joinFiles.join(' '),
    ...(spec.listener
      ? { BULKHEAD_LISTEN: spec.listener.script, BULKHEAD_LISTEN_ARGS: spec.listener.args.join(' ') }
      : {}),
  };
  const stdio = spec.listener
    ? [...spec.stdio, ...Array(Math.max(0, LISTENER_CHANNEL_FD - spec.stdio.length)).fill('ignore'), 'ipc']
    : [...spec.stdio];
  if (via === 'perl')
    return spawn(PERL, ['-e', PERL_LAUNCHER, '--', ...chain], {
      stdio,
      env: {
        ...env,
        BULKHEAD_SYSCALLS: (syscalls ?? []).join(' '),
        ...(spec.identity.dropped ? { BULKHEAD_DROP: `${spec.identity.uid} ${spec.identity.gid}` } : {}),
      },
    });
  // bash: it closes descriptors above 9, which dash cannot name in a redirection.
  return spawn('/bin/bash', ['-c', PRELUDE, 'bulkhead-launch', ...dropPrivileges(spec.identity), ...chain], {
    stdio,
    env,
  });
}

/**
 * Checks that bubblewrap exists and may build this jail's namespaces here, as the identity the jail
 * will have; throws `sandbox_unavailable` naming what is missing.
 */
export function checkSandboxSupport(identity: JailIdentity): void {
  const problem = diagnose(identity);
  if (problem) throw new BulkheadError('sandbox_unavailable', problem);
}

/** The probe: the jail's own chain (setpriv when root, bwrap with the namespaces) running `true`. */
function probeArgv(identity: JailIdentity): [string, string[]] {
  const drop = dropPrivileges(identity);
  const bwrap = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--symlink',
    'usr/bin',
    '/bin',
    '/usr/bin/true',
  ];
  return identity.dropped ? ['setpriv', [...drop.slice(1), 'bwrap', ...bwrap]] : ['bwrap', bwrap];
}

/**
 * The same check without blocking: one probe, started at once, so it runs while the caller does
 * other work (`bulkhead run` loads its policy meanwhile). Only when the probe fails are the
 * tools checked one by one, to name what is missing.
 */
export function probeSandbox(identity: JailIdentity): Promise<string | undefined> {
  const [command, args] = probeArgv(identity);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.once('error', () => resolve(diagnose(identity) ?? `cannot run ${command}`));
    child.once('exit', (code) =>
      resolve(code === 0 ? undefined : (diagnose(identity) ?? 'the jail probe failed')),
    );
  });
}

export function diagnose(identity: JailIdentity): string | undefined {
  const version = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    return 'bubblewrap (bwrap) is not installed: install the Debian package bubblewrap';
  }
  if (identity.dropped && spawnSync('setpriv', ['--version']).status !== 0) {
    return 'setpriv (util-linux) is needed to run the jail as an unprivileged user when bulkhead runs as root';
  }
  const [command, args] = probeArgv(identity);
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  if (probe.status !== 0) {
    const who = identity.dropped ? ` for the jail's unprivileged uid ${identity.uid}` : '';
    return `bubblewrap cannot create user, pid and network namespaces here${who} (${(probe.stderr || 'no message').trim()}); allow unprivileged user namespaces (kernel.unprivileged_userns_clone=1, or an AppArmor profile for bwrap)`;
  }
  return undefined;
}
