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
import { createLimiter, type Limiter } from './cgroup.js';
import { awaitListeners, defaultEgressPort, type Listened, listenerCommand } from './egress-listen.js';
import { createEgressProxy } from './egress-proxy.js';
import { createRelay } from './egress-relay.js';
import { serveGatewayBridge } from './gateway-bridge.js';
import { giveToJail, jailIdentity } from './identity.js';
import { writeJailFiles, writeLateEnv } from './jail-files.js';
import type { JailHandle, JailSpec, LateJailSpec } from './jail-spec.js';
import { childPid, STATUS_FD } from './jail-status.js';
import { supervise } from './jail-supervise.js';
import {
  checkSandboxSupport as checkFor,
  launch,
  type PreparedLaunch,
  prepareLaunch,
  probeSandbox,
} from './launch.js';
import { mergeWorkdir } from './merge.js';
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

export type {
  JailExit,
  JailHandle,
  JailOptions,
  JailSpec,
  LateJailSpec,
  WorkdirOutcome,
} from './jail-spec.js';

const SECCOMP_FD = 4;

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

/**
 * The jail's launcher started now, before the jail is known, for a caller that will start one with
 * this stdio (`bulkhead run`: its own, while it reads its policy): perl's start is then not
 * between a known jail and bwrap (launch.ts, prepareLaunch). Only where startJail would
 * use it (a root launcher whose jail's ports are listened on from the host: perl); undefined
 * elsewhere. Give it to startJail as `launcher`, which ends it unused if it cannot use it; a caller
 * that starts no jail after all calls its `cancel()` (an unused one also ends with this process).
 */
export function prepareJail(stdio: 'inherit' | 'pipe' | 'ignore' = 'inherit'): PreparedLaunch | undefined {
  if (defaultEgressPort() !== 'listener') return undefined;
  const listener = listenerCommand([JAIL_GATEWAY_PORT, JAIL_PROXY_PORT]);
  return listener
    ? prepareLaunch({ identity: jailIdentity(), stdio, listener, seccomp: seccompProgram() })
    : undefined;
}

export async function startJail(spec: JailSpec): Promise<JailHandle> {
  try {
    return await build(spec);
  } catch (error) {
    spec.launcher?.cancel();
    throw error;
  }
}

async function build(spec: JailSpec): Promise<JailHandle> {
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

    // The gateway bridge's and the egress proxy's servers are made once the launcher is started
    // (below): bwrap builds the jail meanwhile, and nothing in it connects before `go`.
    let gatewayBridge: Server | undefined;
    let proxy: Server | undefined;
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
        if (!to) {
          server.close();
          continue;
        }
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
    const bridge = spec.bridge ?? defaultBridgeKind();
    // A copy: the jail's identity may not be able to reach the install folder (e.g. under /root).
    if (bridge === 'node' && !listenerHelper) copyFileSync(bridgeScriptPath(), join(shared, 'bridge.mjs'));
    copyFileSync(sandboxAsset('node-proxy.cjs'), join(shared, 'node-proxy.cjs'));
    writeJailFiles(shared, spec.files ?? {});

    let timeoutMs = spec.timeoutMs;
    const program = seccompProgram();
    // A prepared launcher (prepareJail) is used where it was made for: the perl launcher with the
    // listener's helper, the agent on this process's stdio. It gets the seccomp program on a pipe.
    const prepared =
      spec.launcher &&
      listenerHelper &&
      (spec.stdio ?? 'inherit') === spec.launcher.stdio &&
      sameProgram(spec.launcher.seccomp, program)
        ? spec.launcher
        : undefined;
    if (!prepared) spec.launcher?.cancel();
    const seccompFile = join(runtime, 'seccomp.bpf');
    if (program && !prepared) writeFileSync(seccompFile, program);

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
    let child: ChildProcess;
    if (prepared) {
      child = prepared.start({
        joinFiles: limits.joinFiles,
        prlimitArgs: limits.prlimitArgs,
        bwrapArgv: argv,
      });
    } else {
      const seccompFd = program ? openSync(seccompFile, 'r') : 'ignore';
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
    }
    const launched = child;
    const exitedRaw = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    // Through this process, not by handing tar's pipe over: node's end of a pipe is non-blocking,
    // and the jail's tar would read EAGAIN from it. The jail's end of its own pipe blocks.
    const into = stdioAt(child, STAGE_IN_FD) as Writable;
    into.on('error', () => source.tar?.kill('SIGKILL'));
    source.stream.on('error', () => into.destroy());
    source.stream.pipe(into);
    let egressListener: Promise<Listened> | undefined;
    let jailPid: number;
    try {
      const gatewaySocket = join(shared, GATEWAY_SOCKET);
      const bridgeServer = await serveGatewayBridge(gatewaySocket, tcpTargetOf(spec.gatewayUrl));
      servers.push(bridgeServer);
      gatewayBridge = bridgeServer;
      giveToJail(gatewaySocket, identity);
      const relay = createRelay();
      const egressProxy = createEgressProxy({
        egress: spec.egress,
        onEvent: spec.onEgress ?? (() => undefined),
        ...(spec.resolve ? { resolve: spec.resolve } : {}),
        relay,
      });
      const egressSocket = join(shared, EGRESS_SOCKET);
      await new Promise<void>((ok, fail) => egressProxy.once('error', fail).listen(egressSocket, () => ok()));
      servers.push(egressProxy);
      proxy = egressProxy;
      giveToJail(egressSocket, identity);
      egressListener = listenerHelper
        ? awaitListeners(
            launched,
            netns.then((ns) => ns && { path: `/proc/${ns.pid}/ns/net`, inode: ns.inode }),
            listenerHelper.ports,
          ).then(takeListener)
        : undefined;
      // The relay for tunnels and answers starts at the agent's first connection to the proxy,
      // where there is somewhere to go: an agent that never uses egress never pays for its
      // start-up (python), and one that does has it ready by its first large download or soon after.
      if (spec.egress.length > 0) egressProxy.once('connection', () => void relay.warm?.());
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

/** Whether a prepared launcher's seccomp program is this jail's (bwrap is told `--seccomp 4` by it). */
function sameProgram(given: Buffer | undefined, program: Buffer | undefined): boolean {
  return given === undefined || program === undefined ? given === program : given.equals(program);
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
