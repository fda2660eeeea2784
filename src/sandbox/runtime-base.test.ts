/**
 * Where runtime folders are made: the jail sees, in its mount table, the runtime folder's path in
 * its filesystem, so a temporary folder that names the user is passed over. The jail's own view:
 * test/sandbox/escape-mount-names.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { namesUser, runtimeBase } from './runtime-folder.js';
import { pathInFilesystem } from './workdir-mounts.js';

const saved = process.env.TMPDIR;
afterEach(() => {
  if (saved === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
});

describe('runtime folder base', () => {
  it('is the temporary folder when its path names nothing of the user', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'bulkhead-base-'));
    process.env.TMPDIR = tmp;
    expect(runtimeBase()).toBe(tmp);
  });

  it('passes over a temporary folder whose path names the user', () => {
    const tmp = join(mkdtempSync(join(tmpdir(), 'bulkhead-base-')), userInfo().username, 'tmp');
    mkdirSync(tmp, { recursive: true });
    process.env.TMPDIR = tmp;
    const base = runtimeBase();
    expect(base).not.toBe(tmp);
    expect(namesUser(pathInFilesystem(base) ?? base)).toBe(false);
  });

  it("names a user's home, name or uid, not other folders", () => {
    expect(namesUser(`/home/${userInfo().username}/tmp`)).toBe(true);
    expect(namesUser(`/tmp/user/${process.getuid?.()}`)).toBe(true);
    expect(namesUser('/tmp/bulkhead-jail-abc123/shared')).toBe(false);
  });
});

describe('a path in its filesystem', () => {
  const shm = readFileSync('/proc/self/mountinfo', 'utf8').includes(' /dev/shm ');
  it.skipIf(!shm)("is the mount's root for a mount point, whatever its host path", () => {
    expect(pathInFilesystem('/dev/shm')).toBe('/');
    expect(pathInFilesystem('/dev/shm/x/y')).toBe('/x/y');
  });
});
