/**
 * `bulkhead run`'s remembered jail probe (src/cli/run-probe.ts): a success is
 * reused only while nothing it depends on has changed, a failure is never
 * reused, and nobody but the user may plant an entry that skips the probe.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  checkSandboxSupportRemembered,
  forgetSandboxProbe,
  MAX_AGE_MS,
  probeKey,
} from '../../src/cli/run-probe.js';
import { BulkheadError } from '../../src/errors.js';
import { tempDir } from '../helpers/harness.js';

describe('bulkhead run remembers a successful jail probe, and only that', () => {
  let cacheDir: string;
  let probes: number;
  const succeeds = async () => {
    probes++;
  };
  const fails = async () => {
    probes++;
    throw new BulkheadError('sandbox_unavailable', 'bubblewrap cannot create user namespaces here');
  };
  const entry = () => join(cacheDir, 'jail-probe.json');

  beforeEach(() => {
    cacheDir = join(tempDir('bulkhead-home-'), 'cache');
    probes = 0;
  });

  it('probes once, then reuses the success from a 0600 entry in the gateway home', async () => {
    expect(await checkSandboxSupportRemembered({ cacheDir }, succeeds)).toBe('probed');
    expect(await checkSandboxSupportRemembered({ cacheDir }, succeeds)).toBe('remembered');
    expect(probes).toBe(1);
    expect(statSync(entry()).mode & 0o777).toBe(0o600);
  });

  it('runs the real probe (setpriv and bwrap) on a miss, and remembers its success', async () => {
    expect(await checkSandboxSupportRemembered({ cacheDir })).toBe('probed');
    expect(await checkSandboxSupportRemembered({ cacheDir })).toBe('remembered');
  });

  it('never remembers a failure: the next run probes again and fails again', async () => {
    await expect(checkSandboxSupportRemembered({ cacheDir }, fails)).rejects.toThrow(/user namespaces/);
    await expect(checkSandboxSupportRemembered({ cacheDir }, fails)).rejects.toThrow(/user namespaces/);
    expect(probes).toBe(2);
    expect(existsSync(entry())).toBe(false);
  });

  it('probes again when bwrap is another file (PATH finds a different one)', async () => {
    await checkSandboxSupportRemembered({ cacheDir }, succeeds);
    const bin = tempDir('bulkhead-bin-');
    const real = execFileSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).trim();
    copyFileSync(real, join(bin, 'bwrap'));
    chmodSync(join(bin, 'bwrap'), 0o755);
    const path = `${bin}:${process.env.PATH}`;
    expect(probeKey({ path })).not.toBe(probeKey());
    expect(await checkSandboxSupportRemembered({ cacheDir, path }, succeeds)).toBe('probed');
    expect(probes).toBe(2);
  });

  it('has no key, so always probes, when bwrap (or setpriv for root) is not on PATH', async () => {
    expect(probeKey({ path: '/nonexistent' })).toBeUndefined();
    expect(probeKey({ path: 'relative/bin' })).toBeUndefined();
    await checkSandboxSupportRemembered({ cacheDir, path: '/nonexistent' }, succeeds);
    await checkSandboxSupportRemembered({ cacheDir, path: '/nonexistent' }, succeeds);
    expect(probes).toBe(2);
  });

  it('keys on the launcher: a root launcher needs setpriv, another user does not', () => {
    expect(probeKey({ uid: 0 })).toContain('setpriv');
    expect(probeKey({ uid: 1000 })).not.toContain('setpriv');
    expect(probeKey({ uid: 0 })).toContain('boot_id');
  });

  it('probes again once the entry is older than MAX_AGE_MS (what no key sees, e.g. AppArmor)', async () => {
    const now = Date.now();
    await checkSandboxSupportRemembered({ cacheDir, now }, succeeds);
    expect(await checkSandboxSupportRemembered({ cacheDir, now: now + MAX_AGE_MS - 1 }, succeeds)).toBe(
      'remembered',
    );
    expect(await checkSandboxSupportRemembered({ cacheDir, now: now + MAX_AGE_MS }, succeeds)).toBe('probed');
    // A clock set back does not make an entry from the future valid either.
    expect(await checkSandboxSupportRemembered({ cacheDir, now: now - 60_000 }, succeeds)).toBe('probed');
  });

  it('ignores an entry others may write, or that another user owns', async () => {
    await checkSandboxSupportRemembered({ cacheDir }, succeeds);
    chmodSync(entry(), 0o666);
    expect(await checkSandboxSupportRemembered({ cacheDir }, succeeds)).toBe('probed');
    // Rewritten by the probe above with the user's own 0600 entry.
    expect(statSync(entry()).mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) {
      chownSync(entry(), 65534, 65534);
      expect(await checkSandboxSupportRemembered({ cacheDir }, succeeds)).toBe('probed');
    }
  });

  it('ignores a planted entry whose key is not this host', async () => {
    await checkSandboxSupportRemembered({ cacheDir }, succeeds);
    const planted = JSON.parse(readFileSync(entry(), 'utf8')) as { key: string; at: number };
    writeFileSync(entry(), JSON.stringify({ ...planted, key: `${planted.key}x` }), { mode: 0o600 });
    expect(await checkSandboxSupportRemembered({ cacheDir }, succeeds)).toBe('probed');
  });

  it('forgets the success when told the jail could not be built after all', async () => {
    await checkSandboxSupportRemembered({ cacheDir }, succeeds);
    forgetSandboxProbe({ cacheDir });
    expect(await checkSandboxSupportRemembered({ cacheDir }, succeeds)).toBe('probed');
    expect(probes).toBe(2);
  });
});
