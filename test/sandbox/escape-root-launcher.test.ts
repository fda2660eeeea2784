/**
 * Escape class 1: host root inside. Launched by root (the common case on
 * servers and in CI, and how CI runs this suite), the jail's processes must
 * not be host uid 0: no kernel interface under /proc may open for writing, a
 * setuid file made inside never becomes a setuid file on the host, and root-only
 * host files stay unreadable. The same holds, as their own uid, for a
 * non-root launcher (run with su nobody).
 *
 * The /proc checks only ever open for appending, never write a byte: on the
 * old code `core_pattern` opened, and a write would have changed the host.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBulkheadError } from '../../src/errors.js';
import { JAIL_HOST_UID, JAIL_UID_SLOTS } from '../../src/sandbox/index.js';
import { runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;

/** Every kernel interface an agent would try; each line says whether it opened for writing. */
const PROC_TARGETS = [
  '/proc/sys/kernel/core_pattern',
  '/proc/sys/kernel/modprobe',
  '/proc/sys/kernel/hotplug',
  '/proc/sys/vm/drop_caches',
  '/proc/sys/kernel/sysrq',
  '/proc/sys/fs/suid_dumpable',
  '/proc/sysrq-trigger',
  '/proc/sys/fs/binfmt_misc/register',
];
const PROBE = PROC_TARGETS.map(
  (path) => `if [ -e ${path} ] && (exec 3>>${path}) 2>/dev/null; then echo "WRITABLE ${path}"; fi`,
).join('\n');

describe.skipIf(skip || !isRoot)('a root launcher: the jail is never host root', () => {
  for (const prepared of [false, true]) {
    it(`runs every jailed process as its own dedicated unprivileged host uid (${prepared ? 'a prepared' : 'a fresh'} launcher)`, async () => {
      let hostUids = '';
      let claimed = -1;
      await runInJail('sleep 1', {
        prepared,
        started: async (handle) => {
          await new Promise((r) => setTimeout(r, 300));
          hostUids = readFileSync(`/proc/${handle.jailPid}/status`, 'utf8');
          claimed = handle.hostUid;
        },
      });
      expect(/^Uid:\s+(\d+)/m.exec(hostUids)?.[1]).toBe(String(claimed));
      expect(/^Gid:\s+(\d+)/m.exec(hostUids)?.[1]).toBe(String(claimed));
      expect(claimed).toBeGreaterThanOrEqual(JAIL_HOST_UID);
      expect(claimed).toBeLessThan(JAIL_HOST_UID + JAIL_UID_SLOTS);
    });
  }

  it('opens no kernel interface under /proc for writing, and finds none writable', async () => {
    const { out } = await runInJail(
      `${PROBE}\nfind /proc/sys -type f -writable 2>/dev/null | head -5\necho end`,
    );
    expect(out).not.toContain('WRITABLE');
    expect(out.trim()).toBe('end');
  });

  it('cannot become root again: setuid binaries, chown to root and device nodes all fail', async () => {
    const { out } = await runInJail(
      'su -c id root 2>&1 | head -1; touch f; chown 0:0 f && echo CHOWNED; mknod dev c 1 3 && echo MKNOD; id -u',
    );
    expect(out).not.toContain('uid=0');
    expect(out).not.toContain('CHOWNED');
    expect(out).not.toContain('MKNOD');
    expect(out.trim().split('\n').at(-1)).toBe('1000');
  });

  it('a setuid or setgid file made inside reaches the host without the bit', async () => {
    const { workdir, out } = await runInJail(
      'cp /bin/sh ./rootshell && chmod 6755 ./rootshell && ls -ln rootshell; mkdir sticky && chmod 3777 sticky',
    );
    expect(out).toContain('rwsr-sr-x'); // the jail let it set the bits on its own copy
    const shell = statSync(join(workdir, 'rootshell'));
    expect(shell.mode & 0o7000).toBe(0);
    expect(shell.mode & 0o777).toBe(0o755);
    expect(statSync(join(workdir, 'sticky')).mode & 0o7000).toBe(0);
  });

  it('what the agent writes belongs, on the host, to the workdir owner, never to a uid of its choosing', async () => {
    const { workdir } = await runInJail('echo x > mine', {
      prepare: (wd) => chmodSync(wd, 0o755),
    });
    const owner = statSync(workdir);
    expect(statSync(join(workdir, 'mine')).uid).toBe(owner.uid);
  });

  it("never streams in a file of the workdir that the workdir's owner cannot read", async () => {
    const run = await runInJail('cat root-only.txt; cat public.txt; echo end', {
      prepare: (wd) => {
        writeFileSync(join(wd, 'public.txt'), 'public\n');
        writeFileSync(join(wd, 'root-only.txt'), 'root-only-canary', { mode: 0o600 });
        chownSync(join(wd, 'public.txt'), 65534, 65534);
        chownSync(wd, 65534, 65534); // a checkout of an unprivileged user, with a file of root's
      },
    }).catch((e: unknown) => e);
    if (isBulkheadError(run)) {
      expect(isBulkheadError(run, 'sandbox_unavailable')).toBe(true);
      expect((run as Error).message).toMatch(/root-only\.txt.*Permission denied/s);
      expect((run as Error).message).toContain("workdir's owner");
    } else expect((run as { out: string }).out).not.toContain('root-only-canary');
  });

  it('works as usual on a workdir of an unprivileged owner whose files that owner can read', async () => {
    const { out } = await runInJail('cat public.txt; echo new > made.txt; echo end', {
      prepare: (wd) => {
        writeFileSync(join(wd, 'public.txt'), 'public\n');
        chownSync(join(wd, 'public.txt'), 65534, 65534);
        chownSync(wd, 65534, 65534);
      },
    });
    expect(out).toBe('public\nend\n');
  });

  it('cannot read a root-only file on a read-only mount, since it is not root', async () => {
    // Not under /tmp, which the jail sets up itself.
    const secret = mkdtempSync('/var/tmp/bulkhead-rootonly-');
    chmodSync(secret, 0o755);
    writeFileSync(join(secret, 'key'), 'root-only-canary', { mode: 0o600 });
    const { out } = await runInJail(`cat ${secret}/key; echo end`, { mounts: [secret] });
    expect(out).not.toContain('root-only-canary');
    expect(out).toContain('Permission denied');
  });
});

describe.skipIf(skip || !isRoot)(
  'a non-root launcher (su nobody): the jail is that user, nothing more',
  () => {
    it('maps the jail to the launching uid and strips setuid bits on the way out', () => {
      const dir = tempDir('bulkhead-nobody-');
      chmodSync(dir, 0o755);
      const script = join(dir, 'jail.mts');
      writeFileSync(
        script,
        `import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { startJail } from ${JSON.stringify(join(import.meta.dirname, '../../src/sandbox/index.ts'))};
const workdir = mkdtempSync(${JSON.stringify(join(tmpdir(), 'bulkhead-nobody-wd-'))});
const handle = await startJail({ runId: 'nobody', workdir, env: {}, egress: [], gatewayUrl: 'http://127.0.0.1:9', stdio: 'ignore', acceptWeakerLimits: true,
  command: ['/bin/sh', '-c', 'sleep 0.5; touch map; cp /bin/sh s; chmod 4755 s; for f in /proc/sys/kernel/core_pattern /proc/sysrq-trigger; do (exec 3>>$f) 2>/dev/null && echo "WRITABLE $f" >> map; done'],
  limits: { memoryBytes: 128 << 20, pids: 64, cpu: 1, tmpBytes: 1 << 24 } });
const status = readFileSync('/proc/' + handle.jailPid + '/status', 'utf8');
await handle.exited;
console.log(JSON.stringify({ host: Number(/^Uid:\\s+(\\d+)/m.exec(status)[1]), writable: readFileSync(workdir + '/map', 'utf8').trim(), mode: statSync(workdir + '/s').mode & 0o7777, owner: statSync(workdir + '/s').uid }));
`,
      );
      chmodSync(script, 0o644);
      mkdirSync(join(dir, 'home'), { mode: 0o777 });
      const tsx = join(import.meta.dirname, '../../node_modules/.bin/tsx');
      const result = spawnSync(
        'su',
        ['nobody', '-s', '/bin/sh', '-c', `cd /tmp && HOME=${dir}/home ${tsx} ${script}`],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      const report = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
      expect(report).toEqual({ host: 65534, writable: '', mode: 0o755, owner: 65534 });
    });
  },
);
