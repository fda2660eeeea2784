/**
 * Resource limits through cgroups: v2 where the unified hierarchy is mounted
 * at /sys/fs/cgroup, v1 controllers (memory, pids, cpu, freezer) otherwise.
 * The jailed tree is killed as a whole through its cgroup, not one pid, so a
 * process that double-forked away from the agent dies with it.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulkheadError } from '../errors.js';

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
  /** CPU cores, e.g. 0.5 */
  cpu: number;
}

export interface Cgroup {
  version: 1 | 2;
  /** Files a pid is written to, to put it (and its future children) in the cgroup. */
  procsFiles: string[];
  /** What enforces each limit, for the run's start-up report. */
  mechanisms: Record<'memory' | 'pids' | 'cpu', string>;
  pids(): number[];
  killAll(): Promise<void>;
  peakMemoryBytes(): number | null;
  oomKilled(): boolean;
  remove(): Promise<void>;
}

const ROOT = '/sys/fs/cgroup';
const CPU_PERIOD_US = 100_000;

export function createCgroup(name: string, limits: CgroupLimits): Cgroup {
  try {
    return existsSync(join(ROOT, 'cgroup.controllers')) ? v2(name, limits) : v1(name, limits);
  } catch (error) {
    throw new BulkheadError(
      'sandbox_unavailable',
      `cannot create a cgroup for the resource limits (${(error as Error).message}); bulkhead needs write access to ${ROOT}`,
      { cause: error },
    );
  }
}

function readNumber(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim());
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

async function removeDir(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      if (existsSync(dir)) rmdirSync(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function v1(name: string, limits: CgroupLimits): Cgroup {
  const dir = (controller: string) => join(ROOT, controller, 'bulkhead', name);
  for (const c of ['memory', 'pids', 'cpu', 'freezer']) mkdirSync(dir(c), { recursive: true });
  writeFileSync(join(dir('memory'), 'memory.limit_in_bytes'), String(limits.memoryBytes));
  // No swap beyond the limit, where the kernel accounts swap.
  if (existsSync(join(dir('memory'), 'memory.memsw.limit_in_bytes'))) {
    writeFileSync(join(dir('memory'), 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
  }
  writeFileSync(join(dir('pids'), 'pids.max'), String(limits.pids));
  writeFileSync(join(dir('cpu'), 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
  writeFileSync(
    join(dir('cpu'), 'cpu.cfs_quota_us'),
    String(Math.max(1000, Math.round(limits.cpu * CPU_PERIOD_US))),
  );
  const procsFiles = ['memory', 'pids', 'cpu', 'freezer'].map((c) => join(dir(c), 'cgroup.procs'));
  const pids = () => readPids(join(dir('pids'), 'cgroup.procs'));
  return {
    version: 1,
    procsFiles,
    mechanisms: { memory: 'cgroup v1 memory', pids: 'cgroup v1 pids', cpu: 'cgroup v1 cpu (CFS quota)' },
    pids,
    async killAll() {
      // Freeze first so nothing can fork while we kill, then kill every member, then thaw.
      const freezer = join(dir('freezer'), 'freezer.state');
      writeFileSync(freezer, 'FROZEN');
      for (const pid of pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      writeFileSync(freezer, 'THAWED');
      for (let i = 0; i < 100 && pids().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    },
    peakMemoryBytes: () => readNumber(join(dir('memory'), 'memory.max_usage_in_bytes')),
    oomKilled: () => {
      try {
        return /oom_kill [1-9]/.test(readFileSync(join(dir('memory'), 'memory.oom_control'), 'utf8'));
      } catch {
        return false;
      }
    },
    async remove() {
      for (const c of ['memory', 'pids', 'cpu', 'freezer']) await removeDir(dir(c));
    },
  };
}

function v2(name: string, limits: CgroupLimits): Cgroup {
  const parent = join(ROOT, 'bulkhead');
  mkdirSync(parent, { recursive: true });
  try {
    writeFileSync(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
  } catch {
    // Already enabled, or delegated by the init system.
  }
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
  if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
  writeFileSync(join(dir, 'pids.max'), String(limits.pids));
  writeFileSync(
    join(dir, 'cpu.max'),
    `${Math.max(1000, Math.round(limits.cpu * CPU_PERIOD_US))} ${CPU_PERIOD_US}`,
  );
  const pids = () => readPids(join(dir, 'cgroup.procs'));
  return {
    version: 2,
    procsFiles: [join(dir, 'cgroup.procs')],
    mechanisms: { memory: 'cgroup v2 memory.max', pids: 'cgroup v2 pids.max', cpu: 'cgroup v2 cpu.max' },
    pids,
    async killAll() {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      for (let i = 0; i < 100 && pids().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    },
    peakMemoryBytes: () => readNumber(join(dir, 'memory.peak')),
    oomKilled: () => {
      try {
        return /oom_kill [1-9]/.test(readFileSync(join(dir, 'memory.events'), 'utf8'));
      } catch {
        return false;
      }
    },
    remove: () => removeDir(dir),
  };
}
