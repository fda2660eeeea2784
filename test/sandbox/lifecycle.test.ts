/**
 * Lifecycle (invariant 6): the agent's exit, the wall clock, kill() and an
 * AbortSignal each end the whole tree, double-forked children included,
 * within one second; nothing survives, measured on the host; exit code and
 * peaks are recorded; the cgroup is removed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startJail } from '../../src/sandbox/index.js';
import {
  goneWithin,
  hostProcesses,
  jailSpec,
  runInJail,
  skipWithoutCgroups,
  skipWithoutSandbox,
  tempDir,
} from './jail-harness.js';

const skip = skipWithoutSandbox();
const skipCgroups = skip || skipWithoutCgroups();
let markers = 0;
/** A detached, double-forked process that would outlive a naive kill; findable on the host by its marker. */
const lingerer = () => {
  const marker = `bulkhead-lingerer-${process.pid}-${++markers}`;
  return { marker, script: `(setsid sh -c 'sleep 300; : ${marker}' &); ` };
};

describe.skipIf(skip)('jail lifecycle', () => {
  it('passes the agent exit code through', async () => {
    const { exit } = await runInJail('exit 7');
    expect(exit).toMatchObject({ exitCode: 7, reason: 'exited' });
  });

  it('leaves no process behind after the agent exits', async () => {
    const { marker, script } = lingerer();
    const { out } = await runInJail(
      `${script} sleep 0.3; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done | grep -c ${marker}`,
    );
    expect(Number(out.trim())).toBeGreaterThan(0); // it was running when the agent exited
    expect(hostProcesses(marker)).toEqual([]);
  });

  it('ends the whole tree at the wall clock', async () => {
    const { marker, script } = lingerer();
    const started = Date.now();
    const { exit } = await runInJail(`${script} sleep 60; echo never`, { timeoutMs: 800 });
    expect(exit.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(hostProcesses(marker)).toEqual([]);
  });

  it('kill() ends the whole tree within one second, measured on the host', async () => {
    const { marker, script } = lingerer();
    const workdir = tempDir('bulkhead-wd-');
    const handle = await startJail(jailSpec(workdir, ['/bin/sh', '-c', `${script} sleep 60`]));
    for (let i = 0; i < 200 && hostProcesses(marker).length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(hostProcesses(marker).length).toBeGreaterThan(0);
    const killedAt = Date.now();
    await handle.kill('killed by operator');
    const tookMs = (await goneWithin(marker, 2000)) + (Date.now() - killedAt);
    expect(tookMs).toBeLessThan(1000);
    expect(hostProcesses(marker)).toEqual([]);
    expect((await handle.exited).reason).toBe('killed by operator');
  });

  it('a jail killed right after it starts leaves no unhandled error behind (its init never read go)', async () => {
    const errors: unknown[] = [];
    const catcher = (error: unknown) => errors.push(error);
    process.on('uncaughtException', catcher);
    try {
      for (let i = 0; i < 12; i++) {
        const handle = await startJail(jailSpec(tempDir('bulkhead-wd-'), ['/bin/sleep', '30']));
        await handle.kill('killed at once');
        await handle.exited;
      }
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.off('uncaughtException', catcher);
    }
    expect(errors).toEqual([]);
  });

  it('an aborted signal ends the whole tree', async () => {
    const { marker, script } = lingerer();
    const controller = new AbortController();
    const { exit } = await runInJail(`${script} sleep 60`, {
      signal: controller.signal,
      started: async () => {
        for (let i = 0; i < 200 && hostProcesses(marker).length === 0; i++)
          await new Promise((r) => setTimeout(r, 10));
        controller.abort();
      },
    });
    expect(exit.reason).toBe('aborted');
    expect(hostProcesses(marker)).toEqual([]);
  });
});

describe.skipIf(skipCgroups)('jail accounting (cgroups)', () => {
  it('records memory and CPU peaks', async () => {
    const { exit } = await runInJail(
      'node -e "const b=Buffer.alloc(64*1024*1024,1);let x=0;for(let i=0;i<5e7;i++)x+=i"',
    );
    expect(exit.peaks.memoryBytes ?? 0).toBeGreaterThan(64 * 1024 * 1024);
    expect(exit.peaks.cpuMs ?? 0).toBeGreaterThan(10);
    expect(exit.peakMemoryBytes).toBe(exit.peaks.memoryBytes);
  });

  it('puts every jailed process (bwrap, its init, a double-forked one) in the run cgroup of each controller', async () => {
    const { marker, script } = lingerer();
    const workdir = tempDir('bulkhead-wd-');
    const spec = jailSpec(workdir, ['/bin/sh', '-c', `${script} sleep 60`]);
    const handle = await startJail(spec);
    try {
      for (let i = 0; i < 200 && hostProcesses(marker).length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      const pids = [handle.pid, handle.jailPid, ...hostProcesses(marker).map(Number)];
      expect(pids.length).toBeGreaterThan(2);
      for (const pid of pids) {
        // The marker is also in the agent's own script, so pgrep can catch the short-lived subshell
        // that forks the lingerer; one that has exited since has no cgroup to check.
        const own = pid === handle.pid || pid === handle.jailPid;
        let text: string;
        try {
          text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
        } catch (error) {
          if (!own && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        const lines = text.trim().split('\n');
        // cgroup v1: the memory, pids and cpu hierarchies; else the unified (v2) one.
        const v1 = lines.filter((line) => /[:,](memory|pids|cpu)[:,]/.test(line));
        const limited = v1.length > 0 ? v1 : lines.filter((line) => line.startsWith('0::'));
        expect(limited.length).toBeGreaterThan(0);
        for (const line of limited) expect(line).toContain(`/bulkhead/${spec.runId}-`);
      }
    } finally {
      await handle.kill('test over');
    }
  });

  it('removes its cgroup when it ends', async () => {
    const { runId } = await runInJail('true');
    const parents = [
      '/sys/fs/cgroup/pids/bulkhead',
      '/sys/fs/cgroup/memory/bulkhead',
      '/sys/fs/cgroup/bulkhead',
    ];
    for (const parent of parents.filter((p) => existsSync(p)))
      expect(readdirSync(parent).filter((name) => name.startsWith(runId))).toEqual([]);
  });
});
