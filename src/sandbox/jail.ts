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
 * This file composes the start, phase by phase (each named in the handle's
 * `phases`): checked (jail-checks.ts), `prepared` (shared folder:
 * jail-shared.ts; launcher: jail-launcher.ts; cgroup; command line:
 * jail-command.ts), the ports served (jail-ports.ts), `spawned` (bwrap's
 * report: jail-status.ts), `staged` (stage.ts), `late` (jail-late.ts),
 * `listening`, `go`. Who the jail is on the host: identity.ts (never root).
 * What starts it: launch.ts (inherited descriptors closed, cgroup joined
 * first). How its files get out: merge.ts (the final state decides).
 *
 * Lifecycle (jail-supervise.ts): the wall clock, `kill(reason)` and the
 * AbortSignal end the whole tree through the cgroup and the pid namespace;
 * when the agent exits whatever it left behind is killed too, and the
 * number of such survivors is reported with the exit code and the resource
 * peaks.
 */
import { once } from 'node:events';
import { chmodSync, chownSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { defaultBridgeKind } from './bridge.js';
import { createLimiter, type Limiter, removeDeadCgroups } from './cgroup.js';
import type { Listened } from './egress-listen.js';
import { claimJailIdentity } from './identity.js';
import { checkWorkdirAndMounts, weakerLimitsRefused } from './jail-checks.js';
import { jailArgv, jailEnv } from './jail-command.js';
import { takeLate } from './jail-late.js';
import { pickLauncher, startLauncher, stdioAt } from './jail-launcher.js';
import { awaitListening, jailPorts, listenerHelperFor } from './jail-ports.js';
import { copyJailAssets, makeSharedFolder } from './jail-shared.js';
import type { JailHandle, JailSpec } from './jail-spec.js';
import { childPid } from './jail-status.js';
import { supervise } from './jail-supervise.js';
import { mergeWorkdir } from './merge.js';
import { removeTree } from './remove-tree.js';
import { launcherTag, makeRuntimeFolder, removeDeadRuntimeFolders } from './runtime-folder.js';
import { seccompProgram } from './seccomp.js';
import { makeMountPoints, premountArgv } from './sized-mounts.js';
import {
  archiveWorkdir,
  holdStagedWorkdir,
  releaseHandle,
  STAGE_GO_FD,
  STAGE_IN_FD,
  STAGE_REPORT_FD,
  sendGo,
} from './stage.js';

export { checkSandboxSupport, checkSandboxSupportSoon } from './jail-checks.js';
export { prepareJail } from './jail-launcher.js';
export type {
  JailExit,
  JailHandle,
  JailOptions,
  JailSpec,
  LateJailSpec,
  WorkdirOutcome,
} from './jail-spec.js';

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
  const { workdir, mounts } = checkWorkdirAndMounts(spec);
  // A host uid of its own when the launcher is root (identity.ts); released last, once every
  // process of the jail is gone.
  const claimed = await claimJailIdentity();
  const identity = claimed.identity;
  let runtime: string;
  try {
    runtime = makeRuntimeFolder();
    // The jail's identity must reach the shared folder, and nothing else in here; no other host user
    // may reach it at all: bwrap's command line names the path to everyone (ps), and the shared
    // folder holds the run's files (its token) readable by all who get there. So the jail's group
    // may pass through, others not (and no other jail's: each has its own group).
    chownSync(runtime, process.getuid?.() ?? -1, identity.gid);
    chmodSync(runtime, 0o710);
  } catch (error) {
    claimed.release();
    throw error;
  }
  let limiter: Limiter | undefined;
  // Undone in reverse order, whether the start fails or the jail ends.
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step();
  };
  cleanups.push(() => claimed.release());
  cleanups.push(() => removeTree(runtime));
  let held: number | undefined;
  try {
    const shared = makeSharedFolder(runtime);
    const listenerHelper = listenerHelperFor(spec.egressPort);
    const ports = jailPorts(listenerHelper);
    cleanups.push(() => ports.close());
    const bridge = spec.bridge ?? defaultBridgeKind();
    copyJailAssets(shared, { nodeBridge: bridge === 'node' && !listenerHelper, files: spec.files ?? {} });

    let timeoutMs = spec.timeoutMs;
    // Named for this launcher (launcherTag): the next launch removes it if this one dies unclean.
    limiter = createLimiter(`${spec.runId}-${launcherTag() ?? process.pid}`, spec.limits, {
      ...(spec.cgroupRoot ? { root: spec.cgroupRoot } : {}),
    });
    const limits = limiter;
    cleanups.push(() => limits.remove());
    if (limits.weaker.length > 0 && !spec.acceptWeakerLimits) throw weakerLimitsRefused(limits);
    // No memory cgroup: nothing charges the jail for shmem, its tmpfs inodes' kernel memory or
    // System V segments, so those are refused or bounded some other way (seccomp.ts, sized-mounts.ts).
    const noMemoryCgroup = limits.weaker.includes('memory');
    const program = seccompProgram(process.arch, noMemoryCgroup ? 'refuse' : 'allow');
    // A prepared launcher holds the default program: without a memory cgroup a fresh one is started.
    const { prepared, seccompFile } = pickLauncher(spec, listenerHelper, program, runtime);

    const env = jailEnv(spec.env);
    const workdirSizeBytes = spec.limits.workdirBytes ?? spec.limits.memoryBytes;
    const stagedAtMs = Date.now();
    const owner = ownerOf(workdir);
    // Root reads every file; the jail must get no more than the workdir's owner could give it.
    const source = archiveWorkdir(workdir, identity.dropped && owner.uid !== 0 ? owner : undefined);
    cleanups.push(() => {
      source.tar?.kill('SIGKILL');
    });
    // Every jail's /dev/pts has a `max`; without a memory cgroup its tmpfs are bounded there too.
    const premounted = makeMountPoints(runtime, { tmpfs: noMemoryCgroup });
    const argv = jailArgv({
      spec,
      env,
      bridge,
      listening: Boolean(listenerHelper),
      stage: source.tar ? 'tar' : 'empty',
      workdirSizeBytes,
      shared,
      mounts,
      seccomp: Boolean(program),
      premounted,
    });
    const premount = premountArgv(premounted, {
      tmpBytes: spec.limits.tmpBytes,
      workdirBytes: workdirSizeBytes,
      memoryBytes: spec.limits.memoryBytes,
    });
    mark('prepared');
    const child = startLauncher({
      prepared,
      identity,
      limits,
      premount,
      argv,
      program,
      seccompFile,
      stdio: spec.stdio,
      helper: listenerHelper,
    });
    const exitedRaw = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    // Through this process, not by handing tar's pipe over: node's end of a pipe is non-blocking,
    // and the jail's tar would read EAGAIN from it. The jail's end of its own pipe blocks.
    const into = stdioAt(child, STAGE_IN_FD) as Writable;
    into.on('error', () => source.tar?.kill('SIGKILL'));
    source.stream.on('error', () => into.destroy());
    source.stream.pipe(into);
    // The report and go pipes are socket pairs node also reads: a jail killed before its init read
    // `go` leaves it unread, and the read on this side then fails with ECONNRESET. Unhandled, that
    // ended `bulkhead run` itself (no merge, no cleanup) when a run was killed just after it started.
    for (const fd of [STAGE_REPORT_FD, STAGE_GO_FD]) stdioAt(child, fd).on('error', () => undefined);
    let egressListener: Promise<Listened> | undefined;
    let jailPid: number;
    try {
      egressListener = (await ports.serve({ spec, shared, identity, launched: child })).listening;
      const reported = await childPid(child, exitedRaw, identity, spec.signal);
      jailPid = reported.pid;
      ports.netnsKnown(reported.netns === undefined ? undefined : { pid: jailPid, inode: reported.netns });
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
        const late = await takeLate(spec.late, { ended: exitedRaw, signal: spec.signal, shared, env });
        if (late.timeoutMs !== undefined) timeoutMs = late.timeoutMs;
        mark('late');
      }
      if (egressListener) {
        await awaitListening(egressListener, exitedRaw);
        mark('listening');
      }
      sendGo(stdioAt(child, STAGE_GO_FD) as Writable);
      mark('go');
      // Off the agent's start: what launchers killed with SIGKILL left behind (runtime-folder.ts).
      removeDeadRuntimeFolders(dirname(runtime));
      removeDeadCgroups(spec.cgroupRoot ? { root: spec.cgroupRoot } : {});
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
          maxBytes: workdirSizeBytes,
          ...(identity.dropped ? { owner } : {}),
        }),
    });
  } catch (error) {
    // A prepared launcher not yet handed its chain (a refusal before pickLauncher) ends unused.
    spec.launcher?.cancel();
    if (limiter) await limiter.killAll();
    releaseHandle(held);
    await cleanup();
    throw error;
  }
}

function ownerOf(path: string): { uid: number; gid: number } {
  const stat = statSync(path);
  return { uid: stat.uid, gid: stat.gid };
}
