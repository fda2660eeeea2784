/**
 * Escape class 4: nothing of the launcher leaks in. A descriptor the launcher
 * inherited without close-on-exec (a shell's `9</secret`, a CI runner's
 * pipes, an open folder) would reach the agent through bwrap: an open host
 * folder is a way back to the host filesystem, an open file its content. The
 * environment is an allow-list, and mountinfo names no host path of the
 * workdir or the launcher.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const ENV_CANARY = 'launcher-env-canary-51c0';

beforeAll(() => {
  process.env.BULKHEAD_LEAK_CANARY = ENV_CANARY;
  process.env.LD_PRELOAD = '/nonexistent/preload.so';
  process.env.BASH_ENV = '/nonexistent/bash_env';
});
afterAll(() => {
  delete process.env.BULKHEAD_LEAK_CANARY;
  delete process.env.LD_PRELOAD;
  delete process.env.BASH_ENV;
});

describe.skipIf(skip)('escape: what the launcher holds', () => {
  it.each<[string, boolean]>([
    ['started by startJail', false],
    ...(process.getuid?.() === 0
      ? [['prepared ahead (prepareJail, as bulkhead run does)', true] as [string, boolean]]
      : []),
  ])(
    'closes every descriptor the launcher inherited, %s: no host file or folder is reachable through one',
    (_, prepared) => {
      const dir = tempDir('bulkhead-fds-');
      chmodSync(dir, 0o755);
      const secretDir = join(dir, 'secret-folder');
      mkdirSync(secretDir);
      writeFileSync(join(secretDir, 'key'), 'fd-folder-canary');
      writeFileSync(join(dir, 'secret.txt'), 'fd-file-canary');
      const script = join(dir, 'launcher.mts');
      writeFileSync(
        script,
        `import { readFileSync } from 'node:fs';
import { jailSpec } from ${JSON.stringify(join(import.meta.dirname, 'jail-harness.ts'))};
import { prepareJail, startJail } from ${JSON.stringify(join(import.meta.dirname, '../../src/sandbox/index.ts'))};
import { mkdtempSync, writeFileSync } from 'node:fs';
const workdir = mkdtempSync(${JSON.stringify(join(tmpdir(), 'bulkhead-fds-wd-'))});
const probe = 'for f in /proc/self/fd/*; do echo "FD \${f##*/}"; done; for n in 3 4 5 6 7 8 9 10 11 12 200 300; do cat /proc/self/fd/$n/key /proc/self/fd/$n 2>/dev/null; done; echo end';
const launcher = ${prepared} ? prepareJail('ignore') : undefined;
if (${prepared} && !launcher) throw new Error('no prepared launcher here');
const handle = await startJail({ ...jailSpec(workdir, ['/bin/sh', '-c', '{ ' + probe + '; } > out.txt 2>&1']), ...(launcher ? { launcher } : {}) });
await handle.exited;
console.log(JSON.stringify(readFileSync(workdir + '/out.txt', 'utf8')));
`,
      );
      // The launcher inherits, from the shell that starts it, a folder at fd 200 and a file at fd 300
      // without close-on-exec. Node marks low inherited descriptors close-on-exec at start-up (libuv
      // stops at the first gap above 15), so high ones like these are what reach its children.
      const result = spawnSync(
        '/bin/bash',
        [
          '-c',
          'exec 200<"$1" 300<"$2"; exec "$3" --import tsx "$4"',
          'launch',
          secretDir,
          join(dir, 'secret.txt'),
          process.execPath,
          script,
        ],
        {
          encoding: 'utf8',
          timeout: 60_000,
          cwd: join(import.meta.dirname, '../..'),
          env: { PATH: process.env.PATH ?? '' },
        },
      );
      const out = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '""') as string;
      expect(out).toContain('end');
      expect(out).not.toContain('fd-folder-canary');
      expect(out).not.toContain('fd-file-canary');
      // stdio only, and the descriptor ls itself opened for /proc/self/fd
      const fds = [...out.matchAll(/^FD (\d+) -> /gm)].map((m) => Number(m[1]));
      expect(fds.filter((fd) => fd > 3)).toEqual([]);
    },
  );

  it.skipIf(process.getuid?.() !== 0)(
    'a jail whose launcher was prepared ahead starts as one started directly: identity, capabilities, seccomp, namespaces, mounts',
    async () => {
      const probe =
        'grep -E "^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status; ' +
        'for n in user pid net mnt ipc uts cgroup; do [ "$(readlink /proc/self/ns/$n)" = "$(readlink /proc/1/ns/$n)" ] && echo "ns $n shared with pid 1"; done; ' +
        "awk '{print $5, $6}' /proc/self/mountinfo | sed 's/,relatime//'; ls -l /proc/self/fd | awk '{print $9}'; echo end";
      const direct = await runInJail(probe);
      const prepared = await runInJail(probe, { prepared: true });
      expect(direct.out).toContain('end');
      expect(direct.out).toMatch(/^Seccomp:\s+2$/m);
      expect(prepared.out).toEqual(direct.out);
    },
  );

  it('builds the environment from an allow-list: nothing of the launcher, no loader or shell hooks', async () => {
    const { out } = await runInJail(
      'env; for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < $f; done; echo end',
    );
    expect(out).toContain('end');
    expect(out).not.toContain(ENV_CANARY);
    expect(out).not.toMatch(/^LD_PRELOAD=/m);
    expect(out).not.toMatch(/^BASH_ENV=/m);
    const names = new Set([...out.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]));
    const allowed = new Set([
      'PATH',
      'HOME',
      'LANG',
      'HTTP_PROXY',
      'HTTPS_PROXY',
      'http_proxy',
      'https_proxy',
      'NO_PROXY',
      'no_proxy',
      'NODE_OPTIONS',
      'PWD',
      'OLDPWD',
      'SHLVL',
      '_',
    ]);
    expect([...names].filter((name) => !allowed.has(name as string))).toEqual([]);
  });

  it("names no host path of the workdir or the launcher in the jail's mountinfo", async () => {
    const parent = tempDir('bulkhead-client-secret-project-');
    const workdir = join(parent, 'acme-merger-2026');
    mkdirSync(workdir);
    const { out } = await runInJail('cat /proc/self/mountinfo', {
      prepare: () => undefined,
      workdirAt: workdir,
    });
    expect(out).toContain(' /workspace ');
    expect(out).not.toContain('acme-merger-2026');
    expect(out).not.toContain('client-secret-project');
    expect(out).not.toContain(process.cwd());
  });

  it.skipIf(spawnSync('script', ['--version']).status !== 0)(
    "cannot push keystrokes into the caller's terminal (TIOCSTI) or reopen it as /dev/tty",
    () => {
      // The agent inherits a real terminal as `bulkhead run` gives it one: script(1) makes it.
      const result = spawnSync(
        'script',
        ['-qec', 'node_modules/.bin/tsx test/fixtures/tty-jail.ts', '/dev/null'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 60_000,
        },
      );
      const report = /REPORT (.*)/.exec(result.stdout)?.[1] ?? result.stdout + result.stderr;
      expect(report).toContain('ISATTY-True');
      expect(report).toMatch(/TIOCSTI-1\b/); // EPERM: a new session has no controlling terminal
      expect(report).toMatch(/CTTY-6\b/); // ENXIO
    },
  );
});
