/**
 * A started jail's life: the wall clock, kill(reason) and the caller's AbortSignal end the whole
 * tree through the cgroup and the pid namespace; when the agent exits whatever it left behind is
 * killed, then the workdir is merged back and the runtime folder removed, in that order.
 */
import type { ChildProcess } from 'node:child_process';
import { JAIL_GATEWAY_PORT, JAIL_PROXY_PORT } from './bridge.js';
import type { Limiter } from './cgroup.js';
import type { JailIdentity } from './identity.js';
import type { JailExit, JailHandle, JailSpec, WorkdirOutcome } from './jail-spec.js';
import type { MergeReport } from './merge.js';

/** How long a jail's exit lets the kernel end its pid namespace before freezing what is left. */
const SURVIVORS_SETTLE_MS = 50;

export function supervise(parts: {
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
