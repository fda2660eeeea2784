/**
 * What the jail's mount table says about the host. A bind mount shows, in /proc/self/mountinfo, the
 * source's path from the root of its filesystem: the runtime folder bound at /run/bulkhead (and
 * passwd, group and hosts from it) showed the launcher's temporary folder, which names the user
 * when TMPDIR is in their home or per-user (`/home/alice/tmp`, libpam-tmpdir's `/tmp/user/1000`).
 * On 5c126d6 the user's name reached the jail this way.
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runAsUid, runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const HARNESS = join(import.meta.dirname, 'jail-harness.ts');
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_100_000_000 + (process.pid % 100_000);
const SCRIPT = 'cat /proc/self/mountinfo /proc/self/mounts; tr "\\0" "\\n" < /proc/self/environ; echo END';
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
    const { out, workdir } = await runInJail(SCRIPT, { weakerLimits });
    expect(out).toContain('END');
    expect(out).toContain('/run/bulkhead');
    expect(out).not.toContain(tmp);
    expect(out).not.toContain(`/${userInfo().username}/`);
    expect(out).not.toContain(workdir);
    expect(out).not.toContain(userInfo().homedir);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "shows an unprivileged launcher's uid nowhere when its temporary folder is named for it",
    () => {
      // libpam-tmpdir's /tmp/user/<uid>, for a uid without an account (no name to look up).
      const base = tempDir('bulkhead-peruser-');
      const tmp = join(base, 'user', String(UNPRIVILEGED));
      mkdirSync(tmp, { recursive: true });
      for (const dir of [base, join(base, 'user')]) chmodSync(dir, 0o755);
      chownSync(tmp, UNPRIVILEGED, UNPRIVILEGED);
      const file = join(tmp, 'launcher.mts');
      writeFileSync(
        file,
        `import { runInJail } from ${JSON.stringify(HARNESS)};\n` +
          `const { out } = await runInJail(${JSON.stringify(SCRIPT)}, { weakerLimits: true });\n` +
          'console.log(JSON.stringify(out));\n',
      );
      const run = runAsUid(UNPRIVILEGED, file, { TMPDIR: tmp, HOME: tmp });
      const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '""') as string;
      expect(out, run.stderr).toContain('/run/bulkhead');
      expect(out).not.toContain(tmp);
      expect(out).not.toContain(`/${UNPRIVILEGED}/`);
    },
    90_000,
  );
});
