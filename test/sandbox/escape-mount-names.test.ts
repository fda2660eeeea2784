/**
 * What the jail's mount table says about the host. A bind mount shows, in /proc/self/mountinfo, the
 * source's path from the root of its filesystem: the runtime folder bound at /run/bulkhead (and
 * passwd, group and hosts from it) showed the launcher's temporary folder, which names the user
 * when TMPDIR is in their home or per-user (`/home/alice/tmp`, libpam-tmpdir's `/tmp/user/1000`).
 * On 5c126d6 the user's name reached the jail this way.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const weakerLimits = process.getuid?.() !== 0;
const savedTmp = process.env.TMPDIR;

afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});

/** A temporary folder named the way per-user ones are: `<base>/home/<user>/tmp`. */
function personalTmp(): string {
  const base = tempDir('bulkhead-personal-');
  const tmp = join(base, 'home', userInfo().username, 'tmp');
  mkdirSync(tmp, { recursive: true });
  for (const dir of [base, join(base, 'home'), join(base, 'home', userInfo().username)])
    chmodSync(dir, 0o755);
  chmodSync(tmp, 0o1777);
  return tmp;
}

describe.skipIf(skip)("escape: the host's paths in the jail's mount table", () => {
  it("shows neither the temporary folder nor the user's name in mountinfo, mounts or the environment", async () => {
    const tmp = personalTmp();
    process.env.TMPDIR = tmp;
    const { out, workdir } = await runInJail(
      'cat /proc/self/mountinfo /proc/self/mounts; tr "\\0" "\\n" < /proc/self/environ; echo END',
      { weakerLimits },
    );
    expect(out).toContain('END');
    expect(out).toContain('/run/bulkhead');
    expect(out).not.toContain(tmp);
    expect(out).not.toContain(`/${userInfo().username}/`);
    expect(out).not.toContain(workdir);
    expect(out).not.toContain(userInfo().homedir);
  });
});
