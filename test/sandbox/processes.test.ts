/**
 * Processes and resources, attacked from inside a real jail: host processes
 * cannot be signalled or traced, dangerous system calls fail, and the pids,
 * memory and CPU limits hold while the host carries on.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInJail, skipWithoutCgroups, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const skipCgroups = skip || skipWithoutCgroups();
const MARKER = `bulkhead-host-victim-${process.pid}`;
let victim: ChildProcess;

beforeAll(() => {
  victim = spawn('/bin/sleep', ['300'], { argv0: MARKER, stdio: 'ignore' });
});
afterAll(() => {
  victim?.kill('SIGKILL');
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** perl's syscall(): prints "rc errno" for one raw system call. */
const syscall = (nr: number, ...args: (number | string)[]) =>
  `perl -e '$!=0; my $r=syscall(${[nr, ...args].join(',')}); print "SYS ${nr} $r ", $!+0, "\\n"'\n`;

describe.skipIf(skip)('jail processes', () => {
  it('cannot signal a host process', async () => {
    const pid = victim.pid as number;
    const { out } = await runInJail(`kill -9 ${pid}; echo rc=$?`);
    expect(out).toMatch(/No such process/);
    expect(alive(pid)).toBe(true);
  });

  it('cannot ptrace a host process', async () => {
    const pid = victim.pid as number;
    const { out } = await runInJail(syscall(101, 16, pid, 0, 0)); // PTRACE_ATTACH
    expect(out).toMatch(/SYS 101 -1 (1|3)\b/); // EPERM or ESRCH: never attached
    expect(alive(pid)).toBe(true);
  });

  it('cannot ptrace a process of its own (seccomp)', async () => {
    const { out } = await runInJail(`sleep 30 & P=$! ${syscall(101, 16, '$ENV{P}', 0, 0)}kill $P`);
    expect(out).toContain('SYS 101 -1 1');
  });

  it('gets EPERM for mount, unshare, bpf, keyctl and module loading (seccomp)', async () => {
    const calls = [
      syscall(165, 0, 0, 0, 0, 0), // mount
      syscall(272, 0x10000000), // unshare(CLONE_NEWUSER)
      syscall(321, 0, 0, 0), // bpf
      syscall(250, 0, 0, 0, 0, 0), // keyctl
      syscall(313, 0, 0, 0), // finit_module
    ];
    const { out } = await runInJail(calls.join(''));
    for (const nr of [165, 272, 321, 250, 313]) expect(out).toContain(`SYS ${nr} -1 1`);
  });

  it('cannot open a raw socket', async () => {
    const { out } = await runInJail(syscall(41, 2, 3, 1)); // socket(AF_INET, SOCK_RAW, ICMP)
    expect(out).toContain('SYS 41 -1 1');
  });

  // As root every other test here runs privileged; this one runs the jail as an ordinary user.
  // (When the suite itself runs unprivileged, every test already covers that.)
  it.skipIf(process.getuid?.() !== 0)(
    'runs for an unprivileged host user, with rlimits in force',
    async () => {
      const dir = tempDir('bulkhead-nonroot-');
      chmodSync(dir, 0o755);
      const script = join(dir, 'jail.mts');
      writeFileSync(
        script,
        `import { mkdtempSync, readFileSync } from 'node:fs';
import { startJail } from ${JSON.stringify(join(import.meta.dirname, '../../src/sandbox/index.ts'))};
const workdir = mkdtempSync(${JSON.stringify(join(tmpdir(), 'bulkhead-nonroot-wd-'))});
const handle = await startJail({ runId: 'nonroot', workdir, command: ['/bin/sh', '-c', 'id -u > out.txt'], env: {},
  limits: { memoryBytes: 128 << 20, pids: 64, cpu: 1, tmpBytes: 1 << 24 }, egress: [], gatewayUrl: 'http://127.0.0.1:9', stdio: 'ignore', acceptWeakerLimits: true });
const exit = await handle.exited;
console.log(JSON.stringify({ memory: handle.limits.memory, exit: exit.exitCode, uid: readFileSync(workdir + '/out.txt', 'utf8').trim() }));
`,
      );
      chmodSync(script, 0o644);
      const tsx = join(import.meta.dirname, '../../node_modules/.bin/tsx');
      const result = spawnSync(
        'su',
        ['nobody', '-s', '/bin/sh', '-c', `cd /tmp && HOME=/tmp ${tsx} ${script}`],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      const report = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
      expect(report).toEqual({ memory: expect.stringContaining('rlimit'), exit: 0, uid: '1000' });
    },
  );

  it('falls back to rlimits where no cgroup can be made, says so, and still stops a memory bomb', async () => {
    const { handle, out } = await runInJail(
      'node -e "const a=[];for(;;)a.push(Buffer.alloc(8*1024*1024,1))"; echo rc=$?',
      { memoryMb: 128, cgroupRoot: tempDir('bulkhead-no-cgroup-'), weakerLimits: true },
    );
    expect(handle.limits.memory).toContain('rlimit RLIMIT_DATA');
    expect(handle.limits.cpu).toContain('not enforced');
    expect(out).toMatch(/rc=[1-9]/); // node could not allocate past RLIMIT_DATA
  });
});

describe.skipIf(skipCgroups)('jail resource limits (cgroups)', () => {
  it('holds the pids limit against a fork bomb, and the host can still fork', async () => {
    // The bomb runs in a subshell (a failed fork ends it); counting uses shell builtins only,
    // since nothing more can be forked once the limit is reached.
    const { out, exit } = await runInJail(
      '( while :; do sleep 30 & done ) 2>/dev/null; set -- /proc/[0-9]*; echo "procs $#"',
      { pids: 48, timeoutMs: 20_000 },
    );
    const count = Number(/procs (\d+)/.exec(out)?.[1]);
    expect(count).toBeGreaterThan(20); // it really forked up to the limit
    expect(count).toBeLessThanOrEqual(48);
    expect(exit.peaks.pidsLimitHits ?? 1).toBeGreaterThan(0);
    expect(spawnSync('/bin/true').status).toBe(0);
  });

  it('kills a memory bomb inside and records the peak within the limit', async () => {
    const { exit } = await runInJail('node -e "const a=[];for(;;)a.push(Buffer.alloc(8*1024*1024,1))"', {
      memoryMb: 96,
    });
    expect(exit.exitCode).not.toBe(0);
    expect(exit.reason).toBe('out of memory');
    expect(exit.peaks.memoryBytes ?? 0).toBeGreaterThan(32 * 1024 * 1024);
    expect(exit.peaks.memoryBytes ?? 0).toBeLessThanOrEqual(97 * 1024 * 1024);
  });

  it('holds the CPU limit', async () => {
    const started = Date.now();
    const { exit } = await runInJail(
      'for i in 1 2; do timeout 1.5 sh -c "while :; do :; done" & done; wait',
      { cpu: 0.25 },
    );
    const wallMs = Date.now() - started;
    expect(exit.peaks.cpuMs).not.toBeNull();
    // Two busy loops for 1.5 s would use 3 s of CPU; a quarter core allows about 0.4 s.
    expect(exit.peaks.cpuMs ?? 0).toBeLessThan(Math.min(wallMs, 1500) * 0.25 + 400);
  });

  it('names the cgroup mechanism enforcing each limit on this host', async () => {
    const { handle } = await runInJail('true');
    const version = readdirSync('/sys/fs/cgroup').includes('cgroup.controllers') ? 'v2' : 'v1';
    for (const name of ['memory', 'pids', 'cpu'] as const)
      expect(handle.limits[name]).toContain(`cgroup ${version}`);
    expect(handle.limits.seccomp).toMatch(/^deny list/);
  });
});
