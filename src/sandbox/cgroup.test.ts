import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLimiter } from './cgroup.js';

const limits = { memoryBytes: 64 * 1024 * 1024, pids: 32, cpu: 0.5 };

describe('resource limiter fallback', () => {
  it('falls back to rlimits where no cgroup hierarchy is mounted, and says so per limit', () => {
    const limiter = createLimiter('run_x', limits, { root: mkdtempSync(join(tmpdir(), 'no-cgroup-')) });
    expect(limiter.kind).toBe('rlimit');
    expect(limiter.prlimitArgs).toEqual([`--data=${64 * 1024 * 1024}`, '--nproc=32']);
    expect(limiter.mechanisms.memory).toMatch(/^rlimit RLIMIT_DATA/);
    expect(limiter.mechanisms.pids).toMatch(/^rlimit RLIMIT_NPROC/);
    expect(limiter.mechanisms.cpu).toMatch(/^not enforced/);
  });

  it('names every limit it cannot enforce with a cgroup, so the jail can refuse them', () => {
    const limiter = createLimiter('run_x', limits, { root: mkdtempSync(join(tmpdir(), 'no-cgroup-')) });
    expect(limiter.weaker).toEqual(['memory', 'pids', 'cpu']);
  });
});

describe('a jail’s exit: settle', () => {
  it.skipIf(process.getuid?.() !== 0)(
    'waits for the members to end on their own and kills none',
    async (ctx) => {
      const limiter = createLimiter(`settle-${process.pid}`, limits);
      if (limiter.kind === 'rlimit') ctx.skip();
      const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
      try {
        for (const file of limiter.joinFiles) writeFileSync(file, String(child.pid));
        expect(await limiter.settle(30)).toBe(1);
        expect(child.exitCode).toBeNull();
        expect(child.signalCode).toBeNull();
        setTimeout(() => child.kill('SIGTERM'), 20);
        expect(await limiter.settle(2000)).toBe(0);
      } finally {
        child.kill('SIGKILL');
        await limiter.killAll();
        await limiter.remove();
      }
    },
  );
});
