/**
 * The launching user's inotify budget: inotify instances and watches are counted per host uid
 * (fs.inotify.max_user_instances, 128 by default), and a jail from an unprivileged launcher runs
 * as that user, so it could take all 128 and leave none to the user's editor, file watchers and
 * other jails while it ran; fanotify groups (128 a user, open to the unprivileged with
 * FAN_REPORT_FID) the same. Each jail's user namespace now caps its own share
 * (`user.max_inotify_instances`, `max_inotify_watches`, `max_fanotify_groups`, sized-mounts.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JAIL_FANOTIFY_GROUPS, JAIL_INOTIFY_INSTANCES } from '../../src/sandbox/sized-mounts.js';
import { runInJail, runInJailAsUid, skipWithoutSandbox } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_170_000_000 + (process.pid % 100_000);
/** The jail's watches (the host's default for a whole user is about 190,000 here). */
const MOST_WATCHES = 65_536;

/**
 * Makes inotify instances until refused (at most 200), then watches every file under /usr from
 * one of them until refused (at most MOST_WATCHES + 1,000); prints how many of each.
 */
const INOTIFY = `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fds = []
while len(fds) < 200:
    fd = libc.inotify_init()
    if fd < 0: break
    fds.append(fd)
print('instances', len(fds), flush=True)
for fd in fds[1:]: os.close(fd)
# Distinct watch descriptors: a hard link or a link's target already watched gives the same one.
watches = set()
def walk():
    for root, dirs, files in os.walk('/usr'):
        for name in dirs + files:
            if len(watches) > ${MOST_WATCHES + 1000}: return
            wd = libc.inotify_add_watch(fds[0], os.path.join(root, name).encode(), 0x100)
            if wd < 0:
                if ctypes.get_errno() == 28: return
                continue
            watches.add(wd)
walk()
print('watches', len(watches))
`;

/** Makes fanotify groups (FAN_REPORT_FID: allowed without privilege) until refused, at most 200. */
const FANOTIFY = `
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
made = 0
while made < 200 and libc.fanotify_init(0x200, 0) >= 0:
    made += 1
print('groups', made)
`;

function count(out: string, what: 'instances' | 'watches' | 'groups'): number {
  const m = new RegExp(`^${what} (\\d+)$`, 'm').exec(out);
  if (!m) throw new Error(`no result: ${out}`);
  return Number(m[1]);
}
const instances = (out: string) => count(out, 'instances');

describe.skipIf(skip || !isRoot)("escape: the launching user's inotify budget", () => {
  it("takes no more than its own share of the unprivileged launcher's inotify instances", () => {
    const made = instances(
      runInJailAsUid(UNPRIVILEGED, 'python3 ./inotify.py', { weakerLimits: true }, { 'inotify.py': INOTIFY }),
    );
    expect(made).toBeLessThanOrEqual(JAIL_INOTIFY_INSTANCES);
    // Watching still works: a cap that refused every instance would break every file watcher.
    expect(made).toBeGreaterThanOrEqual(JAIL_INOTIFY_INSTANCES - 2);
  }, 90_000);

  it("takes no more than its own share of the unprivileged launcher's inotify watches", () => {
    const out = runInJailAsUid(
      UNPRIVILEGED,
      'python3 ./inotify.py',
      { weakerLimits: true },
      { 'inotify.py': INOTIFY },
    );
    expect(count(out, 'watches')).toBeLessThanOrEqual(MOST_WATCHES);
    expect(count(out, 'watches')).toBeGreaterThanOrEqual(MOST_WATCHES - 100);
  }, 90_000);

  it("takes no more than its own share of the unprivileged launcher's fanotify groups", () => {
    const out = runInJailAsUid(
      UNPRIVILEGED,
      'python3 ./fanotify.py',
      { weakerLimits: true },
      { 'fanotify.py': FANOTIFY },
    );
    expect(count(out, 'groups')).toBeLessThanOrEqual(JAIL_FANOTIFY_GROUPS);
    expect(count(out, 'groups')).toBeGreaterThanOrEqual(JAIL_FANOTIFY_GROUPS - 2);
  }, 90_000);

  it('takes no more than its share under a cgroup from a root launcher', async () => {
    const { out } = await runInJail('python3 ./inotify.py', {
      prepare: (wd) => writeFileSync(join(wd, 'inotify.py'), INOTIFY),
    });
    expect(instances(out)).toBeLessThanOrEqual(JAIL_INOTIFY_INSTANCES);
  }, 60_000);
});
