import { mkdtempSync } from 'node:fs';
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

  it('caps each workdir file with RLIMIT_FSIZE when workdir_size is set, and says it is per file', () => {
    const limiter = createLimiter(
      'run_x',
      { ...limits, workdirBytes: 1024 },
      { root: mkdtempSync(join(tmpdir(), 'no-cgroup-')) },
    );
    expect(limiter.prlimitArgs).toContain('--fsize=1024');
    expect(limiter.mechanisms.workdir).toMatch(/per file/);
  });
});
