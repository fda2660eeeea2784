/**
 * Starts an agent command in a jail: bubblewrap namespaces, a seccomp
 * filter, resource limits, and two ports on its loopback as its only ways
 * out (the gateway and the egress proxy): sockets the host listens on
 * inside the jail (root), or bridges to Unix sockets bind-mounted in.
 *
 * Fail closed: when the jail cannot be built (bubblewrap missing, user
 * namespaces refused, no cgroup and the profile does not accept rlimits,
 * the workdir cannot be staged) `startJail` throws `sandbox_unavailable`
 * naming what is missing; a workdir that exposes a host secret is refused
 * with `workdir_refused`. It never runs the command unjailed, and resolves
 * only once the workdir is staged and the agent is about to start.
 *
 * Who the jail is on the host: identity.ts (never root). How its files get
 * in and out: stage.ts and merge.ts (the final state decides). What starts
 * it: launch.ts (inherited descriptors closed, cgroup joined first).
 *
 * Lifecycle: the wall clock, `kill(reason)` and the AbortSignal end the
 * whole tree through the cgroup and the pid namespace; when the agent exits
 * whatever it left behind is killed too, and the number of such survivors
 * is reported with the exit code and the resource peaks.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
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
  sandboxAsset,
} from './bridge.js';
import { bwrapArgv, JAIL_RUNTIME, JAIL_UID, RESERVED_PATHS } from './bwrap-argv.js';
import { type CgroupLimits, createLimiter, type Limiter, type ResourcePeaks } from './cgroup.js';
import { awaitListeners, defaultEgressPort, type Listened, listenerCommand } from './egress-listen.js';
import { createEgressProxy, type EgressEvent, type Resolver } from './egress-proxy.js';
import { createRelay } from './egress-relay.js';
import { serveGatewayBridge } from './gateway-bridge.js';
import { giveToJail, type JailIdentity, jailIdentity } from './identity.js';
import { checkSandboxSupport as checkFor, diagnose, launch, probeSandbox } from './launch.js';
import { type MergeReport, mergeWorkdir } from './merge.js';
import { removeTree } from './remove-tree.js';
import { seccompProgram } from './seccomp.js';
import { tcpTargetOf } from './socket-host.js';
import {
  archiveWorkdir,
  holdStagedWorkdir,
  releaseHandle,
  STAGE_GO_FD,
  STAGE_IN_FD,
  STAGE_REPORT_FD,
  sendGo,
} from './stage.js';
import { defaultHostSecrets, type HostSecret, refuseUnsafeWorkdir } from './workdir-guard.js';

export interface JailSpec {
  /** Names the cgroup; any characters outside [A-Za-z0-9_.-] are replaced. */
  runId: string;
  /** The host folder the agent works on: staged into the jail, its final state merged back at exit. */
  workdir: string;
  command: string[];
  /** Variables the agent gets, on top of PATH, HOME, LANG and the proxy settings. Nothing else enters. */
  env: Record<string, string>;
  /** workdirBytes sizes the jail's /workspace (default: the memory limit, which it counts against). */
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
   * How the jail's 127.0.0.1:7301 and 127.0.0.1:7300 reach the egress proxy and the gateway
   * bridge: `listener` (the default for a root launcher with CAP_SYS_ADMIN and perl,
   * egress-listen.ts) is a listening socket for each made inside the jail's network namespace and
   * accepted on by the proxy and the bridge's host side themselves; `bridge` is the in-jail
   * bridges (`bridge`), a copy of every byte.
   */
  egressPort?: 'listener' | 'bridge';
  /**
   * Host paths the agent must never see, on top of $HOME and its credential folders (always
   * refused): the policy's folder, the store, the operator token, the gateway home. A workdir that
   * is one of them, holds one, or lies inside one is refused with `workdir_refused`.
   */
  hostSecrets?: readonly (string | HostSecret)[];
  /** Host folders mounted read-only at the same path (the profile's sandbox.mounts). */
  readOnlyMounts?: readonly string[];
  /** Run with rlimits where no cgroup can be made (the profile's sandbox.weaker_limits); refused otherwise. */
  acceptWeakerLimits?: boolean;
  /** Steering paths whose changes the merge carries over (the profile's sandbox.carry_over). */
  carryOver?: readonly string[];
  /**
   * Files the agent reads, read-only, at `/run/bulkhead/NAME` (e.g. its MCP client config, which
   * holds the run token: never written into the workdir, which outlives the run).
   */
  files?: Readonly<Record<string, string>>;
  /**
   * What only a run knows, for a jail built while its run is being created (`bulkhead run` does
   * both at once): awaited once the workdir is staged, before the agent starts. Its env is added
   * to the agent's, its files to /run/bulkhead, its timeoutMs replaces this spec's. A rejection
   * ends the jail before the agent runs, and startJail rejects with it.
   */
  late?: Promise<LateJailSpec>;
}

export interface LateJailSpec {
  env: Record<string, string>;
  files?: Readonly<Record<string, string>>;
  timeoutMs?: number;
}
/** @deprecated the earlier name of JailSpec */
export type JailOptions = JailSpec;

export type WorkdirOutcome = MergeReport | { applied: 0; notes: []; error: string };

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
  /** What the merge carried back to the host workdir, and what it held back or dropped. */
  workdir: WorkdirOutcome;
}

export interface JailHandle {
  /** Host pid of bwrap. */
  pid: number;
  /** Host pid of the jailed child (the bridge, then the agent's parent). */
  jailPid: number;
  /** The jail's user on the host (never 0). */
  hostUid: number;
  /** What is in force, one line per limit, naming the mechanism; for the CLI to print. */
  limits: Record<string, string>;
  exited: Promise<JailExit>;
  /** Ends the whole tree; resolves once it is gone (within one second). */
  kill(reason: string): Promise<void>;
  stdout: Readable | null;
  stderr: Readable | null;
  /**
   * Where start-up time went, in ms since startJail was called, by phase (the bench prints it):
   * `prepared` (checks, runtime folder, sockets, cgroup), `spawned` (bwrap reported the child),
   * `staged` (workdir unpacked), `go`. `exited` and `merged` are added when the jail ends.
   */
  phases: Record<string, number>;
}

const STATUS_FD = 3;
const SECCOMP_FD = 4;
const START_TIMEOUT_MS = 10_000;
/** How long a jail's exit lets the kernel end its pid namespace before freezing what is left. */
const SURVIVORS_SETTLE_MS = 50;

/**
 * Checks that bubblewrap exists and may build this jail's namespaces here; throws
 * `sandbox_unavailable` naming what is missing. The CLI calls it before it creates a run.
 */
export function checkSandboxSupport(): void {
  checkFor(jailIdentity());
}

/** The same check as a promise, for a caller that has other work to do while the probe runs. */
export async function checkSandboxSupportSoon(): Promise<void> {
  const problem = await probeSandbox(jailIdentity());
  if (problem) throw new BulkheadError('sandbox_unavailable', problem);
}

/** The profile's extra read-only mounts: absolute, existing, not a reserved path, not a secret. */
function checkMounts(mounts: readonly string[], secrets: readonly (string | HostSecret)[]): string[] {
  return mounts.map((path) => {
    if (!isAbsolute(path) || !existsSync(path))
      throw new BulkheadError('bad_request', `sandbox.mounts: ${path} is not an absolute path that exists`);
    const real = realpathSync(path);
    const clash = RESERVED_PATHS.find((r) => real === r || (r !== '/' && real.startsWith(`${r}/`)));
    if (clash)
      throw new BulkheadError(
        'bad_request',
        `sandbox.mounts: ${path} is or lies in ${clash}, which the jail sets up itself`,
      );
    try {
      refuseUnsafeWorkdir(real, secrets);
    } catch (error) {
      throw new BulkheadError(
        'workdir_refused',
        `sandbox.mounts: ${(error as Error).message.replace(/; give.*$/, '')}`,
      );
    }
    return real;
  });
}

export async function startJail(spec: JailSpec): Promise<JailHandle> {
  // Awaited only once the workdir is staged: a rejection before then (the run refused while bwrap
  // still builds the jail, sooner than staging under load) is this function's to report, never an
  // unhandled rejection of the caller's process.
  spec.late?.catch(() => undefined);
  spec.signal?.throwIfAborted();
  // hrtime, not performance.now(): the first use of `performance` loads perf_hooks (~1-3 ms).
  const t0 = process.hrtime.bigint();
  const phases: Record<string, number> = {};
  const mark = (phase: string) => {
    phases[phase] = Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;
  };
  const given = resolve(spec.workdir);
  if (!existsSync(given) || !statSync(given).isDirectory()) {
    throw new BulkheadError('bad_request', `the workdir ${given} is not a folder`);
  }
  const workdir = realpathSync(given);
  const secrets = [...defaultHostSecrets(), ...(spec.hostSecrets ?? [])];
  refuseUnsafeWorkdir(workdir, secrets);
  const mounts = checkMounts(spec.readOnlyMounts ?? [], secrets);
  const identity = jailIdentity();
  const runtime = mkdtempSync(join(tmpdir(), 'bulkhead-jail-'));
  // The jail's identity must reach the shared folder, and nothing else in here.
  chmodSync(runtime, 0o711);
  const servers: (Server | NetServer)[] = [];
  let limiter: Limiter | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step();
  };
  cleanups.push(() => removeTree(runtime));
  cleanups.push(() => {
    for (const server of servers) server.close();
  });
  let held: number | undefined;
  try {
    const shared = join(runtime, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    writeFileSync(
      join(shared, 'passwd'),
      `agent:x:${JAIL_UID}:${JAIL_UID}:agent:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    );
    writeFileSync(join(shared, 'group'), `agent:x:${JAIL_UID}:\nnogroup:x:65534:\n`);
    writeFileSync(join(shared, 'hosts'), '127.0.0.1 localhost bulkhead-jail\n::1 localhost\n');

    const gatewaySocket = join(shared, GATEWAY_SOCKET);
    const gatewayBridge = await serveGatewayBridge(gatewaySocket, tcpTargetOf(spec.gatewayUrl));
    servers.push(gatewayBridge);
    giveToJail(gatewaySocket, identity);
    const relay = createRelay();
    const proxy = createEgressProxy({
      egress: spec.egress,
      onEvent: spec.onEgress ?? (() => undefined),
      ...(spec.resolve ? { resolve: spec.resolve } : {}),
      relay,
    });
    // The gateway bridge's and the proxy's own listeners inside the jail (egress-listen.ts): their
    // helper is started by the launcher, beside bwrap, and makes them once bwrap has reported the
    // jail's network namespace, while the workdir is staged.
    const listenerHelper =
      (spec.egressPort ?? defaultEgressPort()) === 'listener'
        ? listenerCommand([JAIL_GATEWAY_PORT, JAIL_PROXY_PORT])
        : undefined;
    if (spec.egressPort === 'listener' && !listenerHelper)
      throw new BulkheadError(
        'sandbox_unavailable',
        `the jail's ports could not listen inside the jail: no egress-listen.pl or syscall numbers for ${process.arch}`,
      );
    let netnsKnown: (netns: { pid: number; inode: number } | undefined) => void = () => undefined;
    const netns = new Promise<{ pid: number; inode: number } | undefined>((ok) => {
      netnsKnown = ok;
    });
    let torn = false;
    cleanups.push(() => {
      torn = true;
      netnsKnown(undefined);
    });
    const takeListener = (result: Listened): Listened => {
      if (!result.ok) return result;
      if (torn) {
        for (const server of result.servers.values()) server.close();
        return { ok: false, reason: 'the jail is gone' };
      }
      for (const [port, server] of result.servers) {
        // Taken by the same server as the Unix socket's connections: the same checks, nothing else.
        const to = port === JAIL_PROXY_PORT ? proxy : gatewayBridge;
        server.on('connection', (socket) => {
          // As both servers accept on their own: half-open (a tunnel's client may half-close after
          // its first bytes; node must not answer with a FIN of its own; the HTTP server decides
          // what a half-close means), no Nagle delay.
          socket.allowHalfOpen = true;
          socket.setNoDelay(true);
          to.emit('connection', socket);
        });
        servers.push(server);
      }
      return result;
    };
    const egressSocket = join(shared, EGRESS_SOCKET);
    await new Promise<void>((ok, fail) => proxy.once('error', fail).listen(egressSocket, () => ok()));
    servers.push(proxy);
    giveToJail(egressSocket, identity);
    const bridge = spec.bridge ?? defaultBridgeKind();
    // A copy: the jail's identity may not be able to reach the install folder (e.g. under /root).
    if (bridge === 'node' && !listenerHelper) copyFileSync(bridgeScriptPath(), join(shared, 'bridge.mjs'));
    copyFileSync(sandboxAsset('node-proxy.cjs'), join(shared, 'node-proxy.cjs'));
    writeJailFiles(shared, spec.files ?? {});

    let timeoutMs = spec.timeoutMs;
    const program = seccompProgram();
    const seccompFile = join(runtime, 'seccomp.bpf');
    if (program) writeFileSync(seccompFile, program);

    limiter = createLimiter(`${spec.runId}-${process.pid}`, spec.limits, {
      ...(spec.cgroupRoot ? { root: spec.cgroupRoot } : {}),
    });
    const limits = limiter;
    cleanups.push(() => limits.remove());
    if (limits.weaker.length > 0 && !spec.acceptWeakerLimits) throw weakerLimitsRefused(limits);

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
      // Node's fetch ignores the proxy variables; this preload makes it use them (node-proxy.cjs).
      NODE_OPTIONS: [`--require ${JAIL_RUNTIME}/node-proxy.cjs`, spec.env.NODE_OPTIONS]
        .filter(Boolean)
        .join(' '),
    };
    const workdirSizeBytes = spec.limits.workdirBytes ?? spec.limits.memoryBytes;
    const stagedAtMs = Date.now();
    const source = archiveWorkdir(workdir);
    cleanups.push(() => {
      source.tar?.kill('SIGKILL');
    });
    const argv = bwrapArgv({
      env,
      entry: bridgeEntry(
        bridge,
        listenerHelper ? [] : jailBridges(),
        spec.command,
        source.tar ? 'tar' : 'empty',
      ),
      tmpSizeBytes: spec.limits.tmpBytes,
      workdirSizeBytes,
      runtimeDir: shared,
      readOnlyMounts: mounts,
      ...(program ? { seccompFd: SECCOMP_FD } : {}),
      statusFd: STATUS_FD,
    });
    mark('prepared');
    const seccompFd = program ? openSync(seccompFile, 'r') : 'ignore';
    let child: ChildProcess;
    try {
      const stdio = spec.stdio ?? 'inherit';
      child = launch({
        identity,
        joinFiles: limits.joinFiles,
        prlimitArgs: limits.prlimitArgs,
        bwrapArgv: argv,
        stdio: [stdio, stdio, stdio, 'pipe', seccompFd, 'pipe', 'pipe', 'pipe'],
        ...(listenerHelper ? { listener: listenerHelper } : {}),
      });
    } finally {
      if (typeof seccompFd === 'number') closeSync(seccompFd);
    }
    const launched = child;
    const egressListener = listenerHelper
      ? awaitListeners(
          launched,
          netns.then((ns) => ns && { path: `/proc/${ns.pid}/ns/net`, inode: ns.inode }),
          listenerHelper.ports,
        ).then(takeListener)
      : undefined;
    // Through this process, not by handing tar's pipe over: node's end of a pipe is non-blocking,
    // and the jail's tar would read EAGAIN from it. The jail's end of its own pipe blocks.
    const into = stdioAt(child, STAGE_IN_FD) as Writable;
    into.on('error', () => source.tar?.kill('SIGKILL'));
    source.stream.on('error', () => into.destroy());
    source.stream.pipe(into);
    const exitedRaw = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    let jailPid: number;
    try {
      const reported = await childPid(child, exitedRaw, identity, spec.signal);
      jailPid = reported.pid;
      netnsKnown(reported.netns === undefined ? undefined : { pid: jailPid, inode: reported.netns });
      mark('spawned');
      held = await holdStagedWorkdir({
        report: stdioAt(child, STAGE_REPORT_FD) as Readable,
        jailPid,
        source,
        ended: exitedRaw,
        workdirSizeBytes,
        ...(spec.signal ? { signal: spec.signal } : {}),
      });
      mark('staged');
      if (spec.late) {
        const late = await lateOrEnded(spec.late, exitedRaw, spec.signal);
        writeJailFiles(shared, late.files ?? {});
        writeLateEnv(shared, late.env, env);
        if (late.timeoutMs !== undefined) timeoutMs = late.timeoutMs;
        mark('late');
      }
      if (egressListener) {
        const got = await Promise.race([
          egressListener,
          exitedRaw.then(([code]) => ({ ok: false as const, reason: `the jail ended (exit ${code})` })),
        ]);
        if (!got.ok)
          throw new BulkheadError(
            'sandbox_unavailable',
            `the jail's ports could not listen inside the jail: ${got.reason}`,
          );
        mark('listening');
      }
      sendGo(stdioAt(child, STAGE_GO_FD) as Writable);
      mark('go');
      // The relay for tunnels and answers starts at the agent's first connection to the proxy,
      // where there is somewhere to go: an agent that never uses egress never pays for its
      // start-up (python), and one that does has it ready by its first large download or soon after.
      if (spec.egress.length > 0) proxy.once('connection', () => void relay.warm?.());
    } catch (error) {
      child.kill('SIGKILL');
      await limits.killAll();
      await exitedRaw.catch(() => undefined);
      throw error;
    }
    const handle = held;
    cleanups.push(() => releaseHandle(handle));
    return supervise({
      spec: { ...spec, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
      child,
      jailPid,
      identity,
      limiter: limits,
      exitedRaw,
      cleanup,
      seccomp: Boolean(program),
      bridge: egressListener
        ? 'no bridges: the egress proxy listens inside the jail, and so does the gateway bridge'
        : `${bridge} bridges`,
      workdirSizeBytes,
      mark,
      phases,
      merge: () =>
        mergeWorkdir({
          from: `/proc/self/fd/${handle}`,
          to: workdir,
          allow: spec.carryOver ?? [],
          stagedAtMs,
          ...(identity.dropped ? { owner: ownerOf(workdir) } : {}),
        }),
    });
  } catch (error) {
    if (limiter) await limiter.killAll();
    releaseHandle(held);
    await cleanup();
    throw error;
  }
}

/** Files the agent reads at /run/bulkhead/NAME: plain names only, never one already there. */
function writeJailFiles(shared: string, files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name) || name === LATE_ENV || existsSync(join(shared, name)))
      throw new BulkheadError('bad_request', `the jail file name ${name} is not allowed`);
    writeFileSync(join(shared, name), content, { mode: 0o644 });
  }
}

/** Read by the jail's init (bridge.ts) after `go`, with `.`: every value single-quoted. */
const LATE_ENV = 'run.env';

function writeLateEnv(shared: string, env: Record<string, string>, base: Record<string, string>): void {
  const lines = Object.entries(env).map(([name, value]) => {
    // Never one the jail already sets (PATH, the proxy settings, NODE_OPTIONS's preload, ...).
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name) || Object.hasOwn(base, name) || value.includes('\0'))
      throw new BulkheadError('bad_request', `the jail variable ${name} is not allowed`);
    return `export ${name}='${value.replaceAll("'", "'\\''")}'\n`;
  });
  // wx: never over a file of the same name.
  writeFileSync(join(shared, LATE_ENV), lines.join(''), { mode: 0o644, flag: 'wx' });
}

/** The late part, or a rejection when the jail ends first (nothing would ever read it). */
async function lateOrEnded(
  late: Promise<LateJailSpec>,
  ended: Promise<[number | null, NodeJS.Signals | null]>,
  signal?: AbortSignal,
): Promise<LateJailSpec> {
  signal?.throwIfAborted();
  return Promise.race([
    late,
    new Promise<never>((_, fail) => {
      signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
    }),
    ended.then(([code]) => {
      throw new BulkheadError(
        'sandbox_unavailable',
        `the jail ended before its agent started (exit ${code})`,
      );
    }),
  ]);
}

function stdioAt(child: ChildProcess, fd: number): Readable | Writable {
  const stream = (child.stdio as readonly (Readable | Writable | null | undefined)[])[fd];
  if (!stream) throw new BulkheadError('sandbox_unavailable', `the jail's descriptor ${fd} is not a pipe`);
  return stream;
}

function ownerOf(path: string): { uid: number; gid: number } {
  const stat = statSync(path);
  return { uid: stat.uid, gid: stat.gid };
}

function weakerLimitsRefused(limits: Limiter): BulkheadError {
  const what = limits.weaker.map((name) => `${name}: ${limits.mechanisms[name]}`).join('; ');
  return new BulkheadError(
    'sandbox_unavailable',
    `no cgroup enforces the jail's limits here (${what}). Run bulkhead as root, or in a delegated cgroup (systemd-run --user --scope -p Delegate=yes bulkhead run ...), or accept per-process rlimits with sandbox.weaker_limits: true in the profile`,
  );
}

/**
 * Resolves with the jailed child's host pid once bwrap reports it, and the inode of its network
 * namespace (bwrap's own report); rejects naming what failed.
 */
async function childPid(
  child: ChildProcess,
  exited: Promise<[number | null, NodeJS.Signals | null]>,
  identity: JailIdentity,
  signal?: AbortSignal,
): Promise<{ pid: number; netns: number | undefined }> {
  const status = child.stdio[STATUS_FD] as Readable | null;
  if (!status) throw new BulkheadError('sandbox_unavailable', 'cannot read the jail status from bubblewrap');
  let text = '';
  // Once the pid is known, the jail's later exit is no start failure: without this, every jail's
  // normal end ran the diagnosis (three synchronous spawns, ~100 ms of blocked event loop).
  let started = false;
  const fromStatus = new Promise<{ pid: number; netns: number | undefined }>((ok) => {
    status.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      // One JSON object per line: the child's pid and its namespaces come in the same line.
      const line = /^[^\n]*"child-pid"[^\n]*\n/m.exec(text)?.[0];
      const match = line ? /"child-pid"\s*:\s*(\d+)/.exec(line) : null;
      if (line && match) {
        started = true;
        const netns = /"net-namespace"\s*:\s*(\d+)/.exec(line)?.[1];
        ok({ pid: Number(match[1]), netns: netns === undefined ? undefined : Number(netns) });
      }
    });
  });
  status.on('error', () => undefined);
  const spawnFailed = once(child, 'error').then(([error]) => {
    throw new BulkheadError('sandbox_unavailable', `cannot start the jail: ${(error as Error).message}`);
  });
  const ended = exited.then(([code]) => {
    if (started) return new Promise<never>(() => undefined);
    const why =
      code === 126
        ? 'cannot put the jail into its cgroup'
        : (diagnose(identity) ?? 'bubblewrap refused the jail');
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
  identity: JailIdentity;
  limiter: Limiter;
  exitedRaw: Promise<[number | null, NodeJS.Signals | null]>;
  cleanup: () => Promise<void>;
  seccomp: boolean;
  bridge: string;
  workdirSizeBytes: number;
  mark: (phase: string) => void;
  phases: Record<string, number>;
  merge: () => MergeReport;
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
    parts.mark('exited');
    if (timer) clearTimeout(timer);
    spec.signal?.removeEventListener('abort', onAbort);
    // Nothing outlives the agent: whatever it left behind dies with the cgroup. bwrap has exited,
    // so the kernel is already ending the pid namespace (its init exited, or dies with its parent,
    // --die-with-parent): those are given a few ms to go on their own, and whatever is left then
    // is frozen and killed as before.
    const survivors = limiter.pids().length;
    if (survivors > 0) await limiter.settle(SURVIVORS_SETTLE_MS);
    await limiter.killAll(AbortSignal.timeout(1000));
    const peaks = limiter.peaks();
    const oom = limiter.oomKilled();
    // Only now, with nothing of the jail left to change it, is its final state read.
    let workdir: WorkdirOutcome;
    try {
      workdir = parts.merge();
    } catch (error) {
      workdir = { applied: 0, notes: [], error: `the merge failed: ${(error as Error).message}` };
    }
    parts.mark('merged');
    await parts.cleanup();
    parts.mark('cleaned');
    return {
      exitCode: code,
      signal,
      reason: endReason ?? (oom ? 'out of memory' : 'exited'),
      peaks,
      peakMemoryBytes: peaks.memoryBytes,
      survivors,
      workdir,
    } satisfies JailExit;
  });

  const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
  const { limits } = spec;
  return {
    pid: child.pid ?? -1,
    jailPid: parts.jailPid,
    hostUid: parts.identity.uid,
    limits: {
      identity: parts.identity.dropped
        ? `host uid ${parts.identity.uid} (dedicated, unprivileged; the launcher is root)`
        : `host uid ${parts.identity.uid} (the launcher's)`,
      memory: `${mib(limits.memoryBytes)} (${limiter.mechanisms.memory})`,
      pids: `${limits.pids} (${limiter.mechanisms.pids})`,
      cpu: `${limits.cpu} core(s) (${limiter.mechanisms.cpu})`,
      tmp: `${mib(limits.tmpBytes)} each for /tmp and /dev/shm (tmpfs, counted in the memory limit)`,
      workdir: `${mib(parts.workdirSizeBytes)} (tmpfs copy, counted in the memory limit; merged back at exit, steering and git changes held back)`,
      network: `loopback only; gateway (/mcp, /v1/ only) at 127.0.0.1:${JAIL_GATEWAY_PORT}, egress proxy at 127.0.0.1:${JAIL_PROXY_PORT} to ${spec.egress.length ? spec.egress.join(', ') : 'nothing'} (${parts.bridge})`,
      namespaces:
        'user, pid, mount, network, ipc, uts, cgroup; no nested user namespaces; all capabilities dropped',
      seccomp: parts.seccomp
        ? 'deny list (ptrace, mount, bpf, keyctl, modules, io_uring, ...); sockets AF_UNIX, AF_INET, AF_INET6 only, no raw'
        : `none (no filter for ${process.arch})`,
    },
    exited,
    async kill(reason: string) {
      if (done) return;
      await killTree(reason);
      // Unref'd: a pending timer would hold `bulkhead run` open for its full second after the
      // tree is gone (a kill from the gateway then took about 1 s to end the command).
      await Promise.race([exited, new Promise((r) => setTimeout(r, 1000).unref())]);
    },
    stdout: child.stdout,
    stderr: child.stderr,
    phases: parts.phases,
  };
}
