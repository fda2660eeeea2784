/**
 * Starts an agent command in a jail: bubblewrap namespaces, a seccomp
 * filter, resource limits, and two bridges as its only ways out (the
 * gateway and the egress proxy, both Unix sockets bind-mounted in).
 *
 * Fail closed: when the jail cannot be built (bubblewrap missing, user
 * namespaces refused, the cgroup cannot be joined) `startJail` throws
 * `sandbox_unavailable` naming what is missing; it never runs the command
 * unjailed. It resolves only once bwrap reports the jailed child running.
 *
 * Lifecycle: the wall clock, `kill(reason)` and the AbortSignal end the
 * whole tree through the cgroup and the pid namespace; when the agent exits
 * whatever it left behind is killed too, and the number of such survivors
 * is reported with the exit code and the resource peaks.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { BulkheadError } from '../errors.js';
import {
  type BridgeKind,
  bridgeEntry,
  bridgeScriptPath,
  defaultBridgeKind,
  EGRESS_SOCKET,
  GATEWAY_SOCKET,
  JAIL_GATEWAY_PORT,
  JAIL_PROXY_PORT,
  jailBridges,
} from './bridge.js';
import { bwrapArgv, JAIL_UID, type PathKind, PROTECTED_FILES, PROTECTED_GIT } from './bwrap-argv.js';
import { type CgroupLimits, createLimiter, type Limiter, type ResourcePeaks } from './cgroup.js';
import { createEgressProxy, type EgressEvent, type Resolver } from './egress-proxy.js';
import { seccompProgram } from './seccomp.js';
import { serveUnixToTcp, tcpTargetOf } from './socket-host.js';

export interface JailSpec {
  /** Names the cgroup; any characters outside [A-Za-z0-9_.-] are replaced. */
  runId: string;
  /** The only writable host folder; mounted at /workspace inside. */
  workdir: string;
  command: string[];
  /** Variables the agent gets, on top of PATH, HOME, LANG and the proxy settings. Nothing else enters. */
  env: Record<string, string>;
  limits: CgroupLimits & { tmpBytes: number };
  /** The profile's `host:port` egress list; empty means no network at all. */
  egress: readonly string[];
  /** The gateway as the host reaches it, e.g. http://127.0.0.1:7300; the jail reaches it at 127.0.0.1:7300. */
  gatewayUrl: string;
  /** Every egress attempt, allowed or denied (the caller writes it to the audit log). */
  onEgress?: (event: EgressEvent) => void;
  /** Resolver for the egress proxy; tests inject one. */
  resolve?: Resolver;
  /** Wall clock: the whole tree is killed when it passes. */
  timeoutMs?: number;
  /** Aborting kills the whole tree (reason `aborted`), and ends a start that is still under way. */
  signal?: AbortSignal;
  /** The agent's stdin/stdout/stderr; `inherit` by default. */
  stdio?: 'inherit' | 'pipe' | 'ignore';
  /** Where cgroups are mounted (default /sys/fs/cgroup); tests point it elsewhere to force rlimits. */
  cgroupRoot?: string;
  /** The in-jail bridge: socat when installed (fast start), else node. */
  bridge?: BridgeKind;
  /**
   * Host paths the agent must never see: the policy file, the store, the operator token, the
   * gateway's home. A workdir that is one of them, contains one, or lies inside one is refused,
   * since the workdir is the one folder the jail can read and write.
   */
  hostSecrets?: readonly string[];
}
/** @deprecated the earlier name of JailSpec */
export type JailOptions = JailSpec;

export interface JailExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it ended: `exited`, `out of memory`, `timeout`, `aborted`, or the reason given to kill(). */
  reason: string;
  peaks: ResourcePeaks;
  /** Same as peaks.memoryBytes. */
  peakMemoryBytes: number | null;
  /**
   * Processes still in the cgroup after the agent's main process ended (all killed then). Usually 0:
   * the pid namespace already takes them down when its first process exits.
   */
  survivors: number;
}

export interface JailHandle {
  /** Host pid of bwrap. */
  pid: number;
  /** Host pid of the jailed child (the bridge, then the agent's parent). */
  jailPid: number;
  /** What is in force, one line per limit, naming the mechanism; for the CLI to print. */
  limits: Record<string, string>;
  exited: Promise<JailExit>;
  /** Ends the whole tree; resolves once it is gone (within one second). */
  kill(reason: string): Promise<void>;
  stdout: Readable | null;
  stderr: Readable | null;
}

const STATUS_FD = 3;
const SECCOMP_FD = 4;
const START_TIMEOUT_MS = 10_000;

/**
 * Checks that bubblewrap exists and may build this jail's namespaces here; throws
 * `sandbox_unavailable` naming what is missing. The CLI calls it before it creates a run.
 */
export function checkSandboxSupport(): void {
  const problem = diagnose();
  if (problem) throw new BulkheadError('sandbox_unavailable', problem);
}

function diagnose(): string | undefined {
  const version = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    return 'bubblewrap (bwrap) is not installed: install the Debian package bubblewrap';
  }
  const probe = spawnSync(
    'bwrap',
    [
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
    ],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    return `bubblewrap cannot create user, pid and network namespaces here (${(probe.stderr || 'no message').trim()}); allow unprivileged user namespaces (kernel.unprivileged_userns_clone=1, or an AppArmor profile for bwrap) or run as root`;
  }
  return undefined;
}

export async function startJail(spec: JailSpec): Promise<JailHandle> {
  spec.signal?.throwIfAborted();
  const workdir = resolve(spec.workdir);
  if (!existsSync(workdir) || !statSync(workdir).isDirectory()) {
    throw new BulkheadError('bad_request', `the workdir ${workdir} is not a folder`);
  }
  refuseSecretsInWorkdir(realpathSync(workdir), spec.hostSecrets ?? []);
  const runtime = mkdtempSync(join(tmpdir(), 'bulkhead-jail-'));
  const servers: (Server | NetServer)[] = [];
  let limiter: Limiter | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step();
  };
  cleanups.push(() => rmSync(runtime, { recursive: true, force: true }));
  cleanups.push(() => {
    for (const server of servers) server.close();
  });
  try {
    const empty = join(runtime, 'empty');
    mkdirSync(empty);
    // Read-only mounts already; the modes also keep a non-root caller's own copies unwritable.
    mkdirSync(join(empty, 'dir'), { mode: 0o555 });
    writeFileSync(join(empty, 'file'), '', { mode: 0o444 });
    const shared = join(runtime, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    writeFileSync(
      join(shared, 'passwd'),
      `agent:x:${JAIL_UID}:${JAIL_UID}:agent:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    );
    writeFileSync(join(shared, 'group'), `agent:x:${JAIL_UID}:\nnogroup:x:65534:\n`);
    writeFileSync(join(shared, 'hosts'), '127.0.0.1 localhost bulkhead-jail\n::1 localhost\n');

    servers.push(await serveUnixToTcp(join(shared, GATEWAY_SOCKET), tcpTargetOf(spec.gatewayUrl)));
    const proxy = createEgressProxy({
      egress: spec.egress,
      onEvent: spec.onEgress ?? (() => undefined),
      ...(spec.resolve ? { resolve: spec.resolve } : {}),
    });
    await new Promise<void>((ok, fail) =>
      proxy.once('error', fail).listen(join(shared, EGRESS_SOCKET), () => ok()),
    );
    servers.push(proxy);

    const program = seccompProgram();
    const seccompFile = join(runtime, 'seccomp.bpf');
    if (program) writeFileSync(seccompFile, program);

    limiter = createLimiter(`${spec.runId}-${process.pid}`, spec.limits, {
      ...(spec.cgroupRoot ? { root: spec.cgroupRoot } : {}),
    });
    const limits = limiter;
    cleanups.push(() => limits.remove());

    const proxyUrl = `http://127.0.0.1:${JAIL_PROXY_PORT}`;
    const env: Record<string, string> = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/tmp',
      LANG: 'C.UTF-8',
      HTTP_PROXY: proxyUrl,
      HTTPS_PROXY: proxyUrl,
      http_proxy: proxyUrl,
      https_proxy: proxyUrl,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      ...spec.env,
    };
    const protectedPaths = [...PROTECTED_FILES, ...PROTECTED_GIT, '.git'];
    // bwrap creates mount points for absent protected paths in the host workdir; removed after.
    const placeholders = absentWithParents(workdir, protectedPaths);
    cleanups.push(() => removePlaceholders(workdir, placeholders));
    const bridge = spec.bridge ?? defaultBridgeKind();
    const argv = bwrapArgv({
      workdir,
      env,
      entry: bridgeEntry(bridge, jailBridges(), spec.command),
      tmpSizeBytes: spec.limits.tmpBytes,
      runtimeDir: shared,
      ...(bridge === 'node' ? { bridgeScript: bridgeScriptPath() } : {}),
      emptyFile: join(empty, 'file'),
      emptyDir: join(empty, 'dir'),
      existing: (relative) => pathKind(workdir, relative),
      ...(program ? { seccompFd: SECCOMP_FD } : {}),
      statusFd: STATUS_FD,
    });
    const prlimit = limits.prlimitArgs.length > 0 ? ['prlimit', ...limits.prlimitArgs, '--'] : [];
    const seccompFd = program ? openSync(seccompFile, 'r') : 'ignore';
    let child: ChildProcess;
    try {
      // The shell joins the cgroup before exec'ing bwrap, so every process of the jail is counted
      // from the first; if it cannot join, it stops (exit 126) rather than run the jail unlimited.
      child = spawn(
        '/bin/sh',
        [
          '-c',
          'for f in $BULKHEAD_CGROUP_PROCS; do echo $$ > "$f" || exit 126; done; exec "$@"',
          'sh',
          ...prlimit,
          'bwrap',
          ...argv,
        ],
        {
          stdio: [
            spec.stdio ?? 'inherit',
            spec.stdio ?? 'inherit',
            spec.stdio ?? 'inherit',
            'pipe',
            seccompFd,
          ],
          env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', BULKHEAD_CGROUP_PROCS: limits.procsFiles.join(' ') },
        },
      );
    } finally {
      if (typeof seccompFd === 'number') closeSync(seccompFd);
    }
    const exitedRaw = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    let jailPid: number;
    try {
      jailPid = await childPid(child, exitedRaw, spec.signal);
    } catch (error) {
      child.kill('SIGKILL');
      await limits.killAll();
      await exitedRaw.catch(() => undefined);
      throw error;
    }
    return supervise({
      spec,
      child,
      jailPid,
      limiter: limits,
      exitedRaw,
      cleanup,
      seccomp: Boolean(program),
      bridge,
    });
  } catch (error) {
    if (limiter) await limiter.killAll();
    await cleanup();
    throw error;
  }
}

/** Resolves with the jailed child's host pid once bwrap reports it; rejects naming what failed. */
async function childPid(
  child: ChildProcess,
  exited: Promise<[number | null, NodeJS.Signals | null]>,
  signal?: AbortSignal,
): Promise<number> {
  const status = child.stdio[STATUS_FD] as Readable | null;
  if (!status) throw new BulkheadError('sandbox_unavailable', 'cannot read the jail status from bubblewrap');
  let text = '';
  const fromStatus = new Promise<number>((ok) => {
    status.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match) ok(Number(match[1]));
    });
  });
  status.on('error', () => undefined);
  const spawnFailed = once(child, 'error').then(([error]) => {
    throw new BulkheadError('sandbox_unavailable', `cannot start the jail: ${(error as Error).message}`);
  });
  const ended = exited.then(([code]) => {
    const why =
      code === 126 ? 'cannot put the jail into its cgroup' : (diagnose() ?? 'bubblewrap refused the jail');
    throw new BulkheadError('sandbox_unavailable', `the jail could not be built: ${why} (exit ${code})`);
  });
  const aborted = new Promise<never>((_, fail) => {
    signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
  const timer = AbortSignal.timeout(START_TIMEOUT_MS);
  const timedOut = once(timer, 'abort').then(() => {
    throw new BulkheadError('sandbox_unavailable', `the jail did not start within ${START_TIMEOUT_MS} ms`);
  });
  return Promise.race([fromStatus, spawnFailed, ended, aborted, timedOut]);
}

function supervise(parts: {
  spec: JailSpec;
  child: ChildProcess;
  jailPid: number;
  limiter: Limiter;
  exitedRaw: Promise<[number | null, NodeJS.Signals | null]>;
  cleanup: () => Promise<void>;
  seccomp: boolean;
  bridge: BridgeKind;
}): JailHandle {
  const { spec, child, limiter } = parts;
  let endReason: string | undefined;
  let done = false;
  const killTree = async (reason: string) => {
    endReason ??= reason;
    // The cgroup takes every member, including double-forked ones; killing bwrap
    // takes the pid namespace down with it, which covers hosts without a cgroup.
    const cgroupGone = limiter.killAll(AbortSignal.timeout(1000));
    child.kill('SIGKILL');
    await cgroupGone;
  };
  const timer = spec.timeoutMs ? setTimeout(() => void killTree('timeout'), spec.timeoutMs) : undefined;
  const onAbort = () => void killTree('aborted');
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  if (spec.signal?.aborted) onAbort();

  const exited = parts.exitedRaw.then(async ([code, signal]) => {
    done = true;
    if (timer) clearTimeout(timer);
    spec.signal?.removeEventListener('abort', onAbort);
    // Nothing outlives the agent: whatever it left behind dies with the cgroup.
    const survivors = limiter.pids().length;
    await limiter.killAll(AbortSignal.timeout(1000));
    const peaks = limiter.peaks();
    const oom = limiter.oomKilled();
    await parts.cleanup();
    return {
      exitCode: code,
      signal,
      reason: endReason ?? (oom ? 'out of memory' : 'exited'),
      peaks,
      peakMemoryBytes: peaks.memoryBytes,
      survivors,
    } satisfies JailExit;
  });

  const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
  const { limits } = spec;
  return {
    pid: child.pid ?? -1,
    jailPid: parts.jailPid,
    limits: {
      memory: `${mib(limits.memoryBytes)} (${limiter.mechanisms.memory})`,
      pids: `${limits.pids} (${limiter.mechanisms.pids})`,
      cpu: `${limits.cpu} core(s) (${limiter.mechanisms.cpu})`,
      tmp: `${mib(limits.tmpBytes)} (tmpfs size, counted in the memory limit)`,
      workdir: limits.workdirBytes
        ? `${mib(limits.workdirBytes)} per file (${limiter.mechanisms.workdir}); the only writable host folder`
        : `the only writable host folder (${limiter.mechanisms.workdir})`,
      network: `loopback only; gateway at 127.0.0.1:${JAIL_GATEWAY_PORT}, egress proxy at 127.0.0.1:${JAIL_PROXY_PORT} to ${spec.egress.length ? spec.egress.join(', ') : 'nothing'} (${parts.bridge} bridges)`,
      namespaces:
        'user, pid, mount, network, ipc, uts, cgroup; no nested user namespaces; all capabilities dropped',
      seccomp: parts.seccomp
        ? 'deny list (ptrace, mount, bpf, keyctl, modules, raw sockets, io_uring, ...)'
        : `none (no filter for ${process.arch})`,
    },
    exited,
    async kill(reason: string) {
      if (done) return;
      await killTree(reason);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
    },
    stdout: child.stdout,
    stderr: child.stderr,
  };
}

/** The default workdir is the current folder, which is often where the policy and the store live. */
function refuseSecretsInWorkdir(workdir: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    let real: string;
    try {
      real = realpathSync(secret);
    } catch {
      real = resolve(secret); // not there yet (a store about to be created): compare its path as given
    }
    const inside = (child: string, parent: string) => child === parent || child.startsWith(`${parent}${sep}`);
    if (inside(real, workdir) || inside(workdir, real)) {
      throw new BulkheadError(
        'sandbox_unavailable',
        `the workdir ${workdir} would let the agent read ${secret}; give the agent its own folder with --workdir`,
      );
    }
  }
}

/** lstat of every component: a symlink anywhere on the way would make bwrap follow it on the host. */
function pathKind(workdir: string, relative: string): PathKind | undefined {
  const parts = relative.split('/');
  for (let i = 1; i <= parts.length; i++) {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(join(workdir, ...parts.slice(0, i)));
    } catch {
      return undefined;
    }
    if (stat.isSymbolicLink()) return 'symlink';
    if (i === parts.length) return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other';
    if (!stat.isDirectory()) return 'other';
  }
  return undefined;
}

/** Protected paths and their parent folders that do not exist yet, deepest first. */
function absentWithParents(workdir: string, paths: readonly string[]): string[] {
  const absent = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (!existsSync(join(workdir, prefix))) absent.add(prefix);
    }
  }
  return [...absent].sort((a, b) => b.split('/').length - a.split('/').length);
}

function removePlaceholders(workdir: string, placeholders: readonly string[]): void {
  for (const relative of placeholders) {
    const path = join(workdir, relative);
    try {
      const stat = lstatSync(path);
      if (stat.isDirectory() && readdirSync(path).length === 0) rmdirSync(path);
      else if (stat.isFile() && stat.size === 0) unlinkSync(path);
    } catch {
      // Never created, or gone already.
    }
  }
}
