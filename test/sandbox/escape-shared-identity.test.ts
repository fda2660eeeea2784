/**
 * Two jails launched by root at once. Every root-launched jail ran as the same host uid
 * (1950000000): namespaces kept their processes, /tmp, /dev/shm, abstract sockets and proxies
 * apart, but the kernel counts some things per host user across namespaces. One jail holding every
 * inotify instance (128 per user here) left every other root-launched jail none. Each jail now
 * has a host uid of its own (identity.ts); what namespaces already separate is kept as a guard.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type JailRun, runInJail, skipWithoutSandbox } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;

/** Starts `holder` in a jail, and once it printed READY (it waits 3 s more) runs `probe` in a second one. */
async function alongside(
  holder: string,
  probe: string,
): Promise<{ held: JailRun; other: JailRun; uids: number[] }> {
  const uids: number[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  const held = runInJail(`${holder}\necho READY > /workspace/ready\nsleep 3`, {
    started: async (handle) => {
      uids.push(handle.hostUid);
      for (let i = 0; i < 200; i++) {
        try {
          if (readFileSync(`/proc/${handle.jailPid}/root/workspace/ready`, 'utf8')) break;
        } catch {
          // not yet
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      ready();
    },
  });
  await isReady;
  const other = await runInJail(probe, { started: (handle) => void uids.push(handle.hostUid) });
  return { held: await held, other, uids };
}

const INOTIFY_ALL = `python3 -c "
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
n = 0
while libc.inotify_init1(0) >= 0: n += 1
print('HELD', n)
open('/workspace/ready', 'w').write('1')
time.sleep(3)
"`;

describe.skipIf(skip || !isRoot)('two jails launched by root at once', () => {
  it('run as different host uids', async () => {
    const { uids } = await alongside('true', 'true');
    expect(uids).toHaveLength(2);
    expect(uids[0]).not.toBe(uids[1]);
  });

  it("one jail holding every inotify instance leaves the other's untouched", async () => {
    const { held, other } = await alongside(
      INOTIFY_ALL,
      `python3 -c "
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print('OTHER', 'ok' if libc.inotify_init1(0) >= 0 else 'errno %d' % ctypes.get_errno())
"`,
    );
    expect(held.out).toMatch(/HELD \d+/);
    expect(other.out).toContain('OTHER ok');
  });

  it("cannot see the other's processes (so cannot name one to signal or trace)", async () => {
    const { other } = await alongside(
      'sh -c "sleep 30; : otherjailmark" &',
      'grep -l "otherjail[m]ark" /proc/[0-9]*/cmdline 2>/dev/null | head -1; echo SEEN-END',
    );
    expect(other.out).toBe('SEEN-END\n');
  });

  it("cannot reach the other's /tmp, /dev/shm or abstract unix sockets", async () => {
    const { other } = await alongside(
      `echo secret > /tmp/left; echo secret > /dev/shm/left
python3 -c "
import socket, time
s = socket.socket(socket.AF_UNIX); s.bind('\\0bulkhead-cross'); s.listen(1)
open('/workspace/ready', 'w').write('1'); time.sleep(3)
" &
sleep 1`,
      `ls /tmp/left /dev/shm/left 2>&1 | grep -c 'No such'
python3 -c "
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect('\\0bulkhead-cross'); print('CONNECTED')
except OSError as e:
    print('REFUSED', e.errno)
"`,
    );
    expect(other.out.split('\n')[0]).toBe('2');
    expect(other.out).toContain('REFUSED');
  });
});
