/**
 * Invariant 7, the filesystem half, attacked from inside a real jail: no
 * write outside the workdir, no host secret readable, steering files stay
 * read-only, and the sizes hold. Each case is an actual attempt.
 */
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBulkheadError } from '../../src/errors.js';
import { startJail } from '../../src/sandbox/index.js';
import { jailSpec, runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const HOST_CANARY = 'host-env-canary-6d1f0b2a';
const outside = tempDir('bulkhead-host-');
const POLICY_FILE = join(outside, 'policy.yaml');
const STORE_FILE = join(outside, 'bulkhead.db');

beforeAll(() => {
  process.env.BULKHEAD_TEST_CANARY = HOST_CANARY;
  writeFileSync(POLICY_FILE, 'secret: policy-canary');
  writeFileSync(STORE_FILE, 'store-canary');
});
afterAll(() => {
  delete process.env.BULKHEAD_TEST_CANARY;
});

describe.skipIf(skip)('jail filesystem', () => {
  it('cannot write outside the workdir', async () => {
    const { out } = await runInJail(
      'for p in /usr/x /etc/x /x /run/bulkhead/x /proc/x; do echo x > $p; done; echo end',
    );
    expect(out.match(/Read-only file system|Directory nonexistent/g)?.length).toBe(5);
    for (const p of ['/usr/x', '/etc/x', '/x']) expect(existsSync(p)).toBe(false);
  });

  it('a jailed process cannot write into /dev, an unsized tmpfs', async () => {
    const { out } = await runInJail(
      'echo x > /dev/planted && echo WROTE-FILE; mkdir /dev/d && echo WROTE-DIR; rm -f /dev/stdout && echo REMOVED; echo ok > /dev/null && echo NULL-OK; echo x > /dev/shm/s && echo SHM-OK',
    );
    expect(out).not.toMatch(/WROTE-FILE|WROTE-DIR|REMOVED/);
    expect(out).toContain('NULL-OK');
    expect(out).toContain('SHM-OK');
  });

  it("reads nothing of the host kernel's command line, configuration, symbols or keys under /proc", async () => {
    const { out } = await runInJail(
      'for f in /proc/cmdline /proc/config.gz /proc/kallsyms /proc/keys /proc/key-users; do [ -e $f ] || continue; n=$(cat $f 2>/dev/null | wc -c); echo "$f $n"; done; echo end',
    );
    for (const line of out.trim().split('\n').slice(0, -1)) expect(line).toMatch(/ 0$/);
    expect(out).toContain('end');
  });

  it('cannot see /root or /home', async () => {
    const { out } = await runInJail('ls /root; ls /home; echo end');
    expect(out.match(/No such file or directory/g)?.length).toBe(2);
  });

  it('cannot read a policy file outside the workdir', async () => {
    const { out } = await runInJail(`cat ${POLICY_FILE}; echo end`);
    expect(out).not.toContain('policy-canary');
    expect(out).toContain('No such file or directory');
  });

  it('cannot read a store file outside the workdir', async () => {
    const { out } = await runInJail(`cat ${STORE_FILE}; echo end`);
    expect(out).not.toContain('store-canary');
  });

  it("does not see the host's environment", async () => {
    const { out } = await runInJail('env; for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < $f; done');
    expect(out).toContain('HTTPS_PROXY=http://127.0.0.1:7301');
    expect(out).not.toContain(HOST_CANARY);
  });

  it("sees a generated passwd, not the host's", async () => {
    const { out } = await runInJail('cat /etc/passwd; id');
    expect(out).toContain('agent:x:1000');
    expect(out).not.toContain('root:x:0');
  });

  it('cannot follow a planted symlink out of the workdir', async () => {
    const { out } = await runInJail('cat ./escape; echo end', {
      prepare: (wd) => symlinkSync(POLICY_FILE, join(wd, 'escape')),
    });
    expect(out).not.toContain('policy-canary');
    expect(out).toContain('No such file or directory');
  });

  it('cannot climb out of the workdir with .. or a symlink it makes itself', async () => {
    const { out } = await runInJail(
      `cat ../../..${POLICY_FILE}; ln -s / root; cat root${POLICY_FILE}; ln -s /proc/1/root pr; cat pr${POLICY_FILE}; echo end`,
    );
    expect(out).not.toContain('policy-canary');
  });

  it('refuses a workdir that holds the policy file or the store', async () => {
    const error = await startJail({
      ...jailSpec(outside, ['/bin/true']),
      hostSecrets: [POLICY_FILE, STORE_FILE],
    }).catch((e: unknown) => e);
    expect(isBulkheadError(error, 'workdir_refused')).toBe(true);
    expect((error as Error).message).toContain(POLICY_FILE);
  });

  it('refuses a workdir inside the gateway home', async () => {
    const home = tempDir('bulkhead-home-');
    mkdirSync(join(home, 'work'));
    const error = await startJail({
      ...jailSpec(join(home, 'work'), ['/bin/true']),
      hostSecrets: [home],
    }).catch((e: unknown) => e);
    expect(isBulkheadError(error, 'workdir_refused')).toBe(true);
  });

  it('starts in a workdir beside, not around, the host secrets', async () => {
    const workdir = tempDir('bulkhead-wd-');
    const handle = await startJail({
      ...jailSpec(workdir, ['/bin/true']),
      hostSecrets: [POLICY_FILE, STORE_FILE],
    });
    expect((await handle.exited).exitCode).toBe(0);
  });

  it('lets the agent do normal work in its workdir', async () => {
    const { out, workdir, exit } = await runInJail(
      'mkdir -p src && echo hello > src/a.txt && cp src/a.txt src/b.txt && cat src/b.txt && rm src/a.txt',
    );
    expect(exit.exitCode).toBe(0);
    expect(out).toContain('hello');
    expect(readFileSync(join(workdir, 'src/b.txt'), 'utf8')).toBe('hello\n');
    expect(existsSync(join(workdir, 'src/a.txt'))).toBe(false);
  });

  it('caps /tmp at its size', async () => {
    const { out } = await runInJail('head -c 20000000 /dev/zero > /tmp/big; echo rc=$?; ls -l /tmp/big', {
      tmpMb: 8,
    });
    expect(out).toMatch(/No space left on device/);
    const size = Number(/\s(\d+)\s+\w+\s+\d+\s+[\d:]+\s+\/tmp\/big/.exec(out)?.[1]);
    expect(size).toBeLessThanOrEqual(8 * 1024 * 1024);
  });

  it('caps the whole workdir at workdir_size, not each file', async () => {
    // The report goes to the full workdir too, so the sizes on the host are the evidence.
    const { workdir } = await runInJail('head -c 3000000 /dev/zero > a; head -c 3000000 /dev/zero > b', {
      workdirMb: 4,
    });
    expect(statSync(join(workdir, 'a')).size).toBe(3000000);
    expect(statSync(join(workdir, 'b')).size).toBeLessThan(3000000);
    expect(statSync(join(workdir, 'a')).size + statSync(join(workdir, 'b')).size).toBeLessThanOrEqual(
      4 * 1024 * 1024,
    );
  });
});
