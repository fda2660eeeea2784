/**
 * Resource limits for one jail, by the strongest mechanism the host offers:
 * cgroup v2 where the unified hierarchy is mounted at the root, cgroup v1
 * controllers (memory, pids, cpu, cpuacct, freezer) where that is what the
 * host has, and rlimits (applied with `prlimit` around bwrap) as the last
 * resort for a limit no cgroup controller can enforce. Each limit reports
 * which mechanism enforces it, so a weaker one is never mistaken for a
 * stronger one.
 *
 * The tree is killed as a whole through its cgroup (cgroup.kill on v2;
 * freeze, SIGKILL every member, thaw on v1), not by one pid: a process that
 * double-forked away from the agent dies with it. Without a cgroup the jail
 * still dies as a whole with its pid namespace when bwrap is killed.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BulkheadError } from '../errors.js';
import { launcherGone } from './runtime-folder.js';

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
  /** CPU cores, e.g. 0.5 */
  cpu: number;
  /** The profile's workdir_size: the size of the jail's /workspace tmpfs (not a cgroup limit). */
  workdirBytes?: number;
}

export type LimitName = 'memory' | 'pids' | 'cpu';

export interface ResourcePeaks {
  memoryBytes: number | null;
  /** CPU time the whole tree used. */
  cpuMs: number | null;
  /** Highest number of processes at once (cgroup v2 only). */
  pids: number | null;
  /** How many forks the pids limit refused. */
  pidsLimitHits: number | null;
}

export interface Limiter {
  kind: 'cgroup-v2' | 'cgroup-v1' | 'rlimit';
  /**
   * Files the launcher writes `0` (itself) to, to put itself and its future children under the
   * limits. cgroup v1: each hierarchy's `tasks`, not `cgroup.procs`. Moving a whole process takes
   * the kernel's global threadgroup lock for writing, which waits out an RCU grace period (10-20 ms
   * of every jail's start here); moving the calling thread alone does not, and the launcher (a
   * shell) has no other thread, so the process and all it forks end up in the same cgroups.
   */
  joinFiles: string[];
  /** Arguments for `prlimit` around bwrap (rlimits that apply to every process of the jail). */
  prlimitArgs: string[];
  /** What enforces each limit, for the run's start-up report. */
  mechanisms: Record<LimitName, string>;
  /** Limits no cgroup enforces here (an rlimit or nothing stands in): the jail refuses these unless accepted. */
  weaker: LimitName[];
  /** Processes of the jail the limiter can see (empty without a cgroup). */
  pids(): number[];
  /** Kills every process of the cgroup and waits until none is left, or the signal aborts. */
  killAll(signal?: AbortSignal): Promise<void>;
  /**
   * Waits up to `ms` for the members to end on their own, killing none; resolves with how many are
   * left. After a jail's bwrap has exited its pid namespace is being torn down by the kernel (its
   * init died, or dies with its parent): waiting a few ms for that spares killAll's freeze, kill
   * and thaw (two writes to freezer.state, ~7 ms of CPU and ~16 ms on every jail's exit).
   */
  settle(ms: number): Promise<number>;
  peaks(): ResourcePeaks;
  oomKilled(): boolean;
  remove(): Promise<void>;
}

export interface LimiterOptions {
  /** Where cgroup hierarchies are mounted; a test points it elsewhere to force the rlimit fallback. */
  root?: string;
}

const CPU_PERIOD_US = 100_000;
const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];

export function createLimiter(name: string, limits: CgroupLimits, options: LimiterOptions = {}): Limiter {
  const root = options.root ?? '/sys/fs/cgroup';
  // The run id becomes a folder name: nothing in it may climb out of bulkhead's subtree.
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  try {
    if (existsSync(join(root, 'cgroup.controllers'))) return v2(join(root, 'bulkhead'), safe, limits);
    const v1Mounted = V1_CONTROLLERS.filter((c) => existsSync(join(root, c, 'cgroup.procs')));
    if (v1Mounted.length > 0) return v1(root, v1Mounted, safe, limits);
  } catch (error) {
    if (!isPermissionError(error)) {
      throw new BulkheadError(
        'sandbox_unavailable',
        `cannot create a cgroup under ${root} for the resource limits: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // No write access to the cgroup tree (not root, nothing delegated): rlimits are what is left.
  }
  return rlimitOnly(limits);
}

function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

function readNumber(file: string): number | null {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

function readKey(file: string, key: string): number | null {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key} `));
    return line ? Number(line.slice(key.length + 1)) : null;
  } catch {
    return null;
  }
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function waitEmpty(pids: () => number[], signal?: AbortSignal): Promise<void> {
  // Soon at first: what an exited jail leaves (its bridges) is usually already dying, and a fixed
  // 10 ms step was most of `bulkhead run`'s exit. Then every 10 ms, for about a second in all.
  const until = Date.now() + 1000;
  for (let i = 0; pids().length > 0 && !signal?.aborted && Date.now() < until; i++)
    await sleep(Math.min(10, 2 ** i));
}

async function settle(pids: () => number[], ms: number): Promise<number> {
  await waitEmpty(pids, AbortSignal.timeout(ms));
  return pids().length;
}

async function removeDir(dir: string): Promise<void> {
  // The kernel releases a cgroup shortly after its last process is reaped: usually within a few
  // ms, and a jail's exit waits for this, so the retries are short (up to a second in all).
  for (let i = 0; i < 200; i++) {
    try {
      if (existsSync(dir)) rmdirSync(dir);
      return;
    } catch {
      await sleep(5);
    }
  }
}

function v1(root: string, mounted: readonly V1Controller[], name: string, limits: CgroupLimits): Limiter {
  const has = (c: V1Controller) => mounted.includes(c);
  const dir = (c: V1Controller) => join(root, c, 'bulkhead', name);
  for (const c of mounted) mkdirSync(dir(c), { recursive: true });
  const prlimitArgs: string[] = [];
  const weaker: LimitName[] = [];
  const mechanisms: Record<LimitName, string> = {
    memory: 'cgroup v1 memory.limit_in_bytes',
    pids: 'cgroup v1 pids.max',
    cpu: 'cgroup v1 cpu.cfs_quota_us',
  };
  if (has('memory')) {
    writeFileSync(join(dir('memory'), 'memory.limit_in_bytes'), String(limits.memoryBytes));
    // Swap would let a memory bomb spill past the limit onto the host's disk.
    const memsw = join(dir('memory'), 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) writeFileSync(memsw, String(limits.memoryBytes));
    const swappiness = join(dir('memory'), 'memory.swappiness');
    if (existsSync(swappiness)) writeFileSync(swappiness, '0');
  } else {
    prlimitArgs.push(`--data=${limits.memoryBytes}`);
    mechanisms.memory = 'rlimit RLIMIT_DATA (per process; no memory cgroup)';
    weaker.push('memory');
  }
  if (has('pids')) writeFileSync(join(dir('pids'), 'pids.max'), String(limits.pids));
  else {
    prlimitArgs.push(`--nproc=${limits.pids}`);
    mechanisms.pids = 'rlimit RLIMIT_NPROC (per user; no pids cgroup)';
    weaker.push('pids');
  }
  if (has('cpu')) {
    writeFileSync(join(dir('cpu'), 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    writeFileSync(join(dir('cpu'), 'cpu.cfs_quota_us'), String(cpuQuota(limits.cpu)));
  } else {
    mechanisms.cpu = 'not enforced (no cpu cgroup)';
    weaker.push('cpu');
  }
  // Membership is read from any controller; all hold the same processes.
  const members = () => {
    const seen = new Set<number>();
    for (const c of mounted) for (const pid of readPids(join(dir(c), 'cgroup.procs'))) seen.add(pid);
    return [...seen];
  };
  return {
    kind: 'cgroup-v1',
    joinFiles: mounted.map((c) => join(dir(c), 'tasks')),
    prlimitArgs,
    mechanisms,
    weaker,
    pids: members,
    settle: (ms) => settle(members, ms),
    async killAll(signal) {
      // Freeze first so nothing can fork while the members are killed, then thaw so they die.
      const freezer = join(dir('freezer'), 'freezer.state');
      for (let round = 0; round < 20 && members().length > 0 && !signal?.aborted; round++) {
        if (has('freezer')) writeFileSync(freezer, 'FROZEN');
        for (const pid of members()) killQuietly(pid);
        if (has('freezer')) writeFileSync(freezer, 'THAWED');
        await waitEmpty(members, AbortSignal.timeout(100));
      }
    },
    peaks: () => ({
      memoryBytes: has('memory') ? readNumber(join(dir('memory'), 'memory.max_usage_in_bytes')) : null,
      cpuMs: has('cpuacct') ? nsToMs(readNumber(join(dir('cpuacct'), 'cpuacct.usage'))) : null,
      pids: null,
      pidsLimitHits: has('pids') ? readKey(join(dir('pids'), 'pids.events'), 'max') : null,
    }),
    oomKilled: () =>
      has('memory') && (readKey(join(dir('memory'), 'memory.oom_control'), 'oom_kill') ?? 0) > 0,
    async remove() {
      for (const c of mounted) await removeDir(dir(c));
    },
  };
}

function v2(parent: string, name: string, limits: CgroupLimits): Limiter {
  mkdirSync(parent, { recursive: true });
  try {
    writeFileSync(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
  } catch {
    // Already enabled, or delegated by the init system; checked below per file.
  }
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
  // Swap would let a memory bomb spill past the limit onto the host's disk.
  if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
  writeFileSync(join(dir, 'pids.max'), String(limits.pids));
  writeFileSync(join(dir, 'cpu.max'), `${cpuQuota(limits.cpu)} ${CPU_PERIOD_US}`);
  const pids = () => readPids(join(dir, 'cgroup.procs'));
  return {
    kind: 'cgroup-v2',
    joinFiles: [join(dir, 'cgroup.procs')],
    prlimitArgs: [],
    mechanisms: {
      memory: 'cgroup v2 memory.max',
      pids: 'cgroup v2 pids.max',
      cpu: 'cgroup v2 cpu.max',
    },
    weaker: [],
    pids,
    settle: (ms) => settle(pids, ms),
    async killAll(signal) {
      if (existsSync(join(dir, 'cgroup.kill'))) writeFileSync(join(dir, 'cgroup.kill'), '1');
      else for (const pid of pids()) killQuietly(pid); // kernels before 5.14
      await waitEmpty(pids, signal);
    },
    peaks: () => ({
      memoryBytes: readNumber(join(dir, 'memory.peak')),
      cpuMs: usecToMs(readKey(join(dir, 'cpu.stat'), 'usage_usec')),
      pids: readNumber(join(dir, 'pids.peak')),
      pidsLimitHits: readKey(join(dir, 'pids.events'), 'max'),
    }),
    oomKilled: () => (readKey(join(dir, 'memory.events'), 'oom_kill') ?? 0) > 0,
    remove: () => removeDir(dir),
  };
}

/** The last resort: per-process rlimits; the pid namespace still takes the whole tree down. */
function rlimitOnly(limits: CgroupLimits): Limiter {
  return {
    kind: 'rlimit',
    joinFiles: [],
    prlimitArgs: [`--data=${limits.memoryBytes}`, `--nproc=${limits.pids}`],
    mechanisms: {
      memory: 'rlimit RLIMIT_DATA (per process; no writable cgroup)',
      pids: 'rlimit RLIMIT_NPROC (per user; no writable cgroup)',
      cpu: 'not enforced (no writable cgroup)',
    },
    weaker: ['memory', 'pids', 'cpu'],
    pids: () => [],
    settle: async () => 0,
    killAll: async () => undefined,
    peaks: () => ({ memoryBytes: null, cpuMs: null, pids: null, pidsLimitHits: null }),
    oomKilled: () => false,
    remove: async () => undefined,
  };
}

/**
 * Removes this user's jail cgroups whose launcher is gone (their names end in its launcherTag,
 * runtime-folder.ts): a launcher killed with SIGKILL never removed its own, one folder per
 * controller for every such run, forever. Whatever is still inside one (nothing should be: bwrap
 * dies with its parent, and the jail with bwrap) is killed first; a cgroup that is not empty yet
 * stays for the next launch. Names without a tag (made before tags, or where the start time could
 * not be read), cgroups of live launchers and other users' are never touched. Never throws;
 * returns the folders removed.
 */
export function removeDeadCgroups(options: LimiterOptions = {}): string[] {
  const root = options.root ?? '/sys/fs/cgroup';
  const me = process.getuid?.();
  const v2 = existsSync(join(root, 'cgroup.controllers'));
  const parents = v2 ? [join(root, 'bulkhead')] : V1_CONTROLLERS.map((c) => join(root, c, 'bulkhead'));
  const removed: string[] = [];
  for (const parent of parents) {
    let names: string[];
    try {
      names = readdirSync(parent, { withFileTypes: true })
        .filter((e) => e.isDirectory() && launcherGone(e.name))
        .map((e) => e.name);
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(parent, name);
      try {
        if (statSync(dir).uid !== me) continue;
        if (v2 && existsSync(join(dir, 'cgroup.kill'))) writeFileSync(join(dir, 'cgroup.kill'), '1');
        else for (const pid of readPids(join(dir, 'cgroup.procs'))) killQuietly(pid);
        rmdirSync(dir);
        removed.push(dir);
      } catch {
        // Still busy, or gone meanwhile: the next launch looks again.
      }
    }
  }
  return removed;
}

function cpuQuota(cores: number): number {
  return Math.max(1000, Math.round(cores * CPU_PERIOD_US));
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function nsToMs(ns: number | null): number | null {
  return ns === null ? null : Math.round(ns / 1e6);
}

function usecToMs(us: number | null): number | null {
  return us === null ? null : Math.round(us / 1e3);
}
