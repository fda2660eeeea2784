import { describe, expect, it } from 'vitest';
import { type BwrapSpec, bwrapArgv } from './bwrap-argv.js';

const base: BwrapSpec = {
  env: { A: '1' },
  entry: ['/bin/sh', '-c', 'bridge', '--', 'agent', '--go'],
  tmpSizeBytes: 1024,
  workdirSizeBytes: 4096,
  runtimeDir: '/host/rt',
};

const pairs = (argv: string[], flag: string) =>
  argv.flatMap((a, i) => (a === flag ? [[argv[i + 1], argv[i + 2]]] : []));

const flagValue = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

/** Each `--size N --tmpfs DEST` as [DEST, N]. */
const sizedTmpfs = (argv: string[]) =>
  argv.flatMap((a, i) => (a === '--size' && argv[i + 2] === '--tmpfs' ? [[argv[i + 3], argv[i + 1]]] : []));

describe('bubblewrap argv', () => {
  const argv = bwrapArgv(base);

  it('unshares every namespace, the user namespace explicitly, and forbids nested ones', () => {
    for (const flag of ['--unshare-all', '--unshare-user', '--disable-userns']) expect(argv).toContain(flag);
    expect(argv).not.toContain('--share-net');
  });

  it('dies with its parent and starts a new session', () => {
    expect(argv).toContain('--die-with-parent');
    expect(argv).toContain('--new-session');
  });

  it('drops every capability', () => {
    expect(flagValue(argv, '--cap-drop')).toBe('ALL');
  });

  it('binds no host folder writable: the workdir is a sized tmpfs the host stages and merges', () => {
    expect(pairs(argv, '--bind')).toEqual([]);
    expect(pairs(argv, '--bind-try')).toEqual([]);
    expect(sizedTmpfs(argv)).toContainEqual(['/workspace', '4096']);
  });

  it('never mounts the host root, /root, /home, /var, /run or /etc as a whole', () => {
    const sources = [...pairs(argv, '--ro-bind'), ...pairs(argv, '--ro-bind-try')].map(([src]) => src);
    for (const forbidden of ['/', '/root', '/home', '/var', '/run', '/etc', '/etc/passwd', '/etc/shadow'])
      expect(sources).not.toContain(forbidden);
  });

  it('generates passwd, group and hosts instead of binding the host ones', () => {
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/rt/passwd', '/etc/passwd']);
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/rt/hosts', '/etc/hosts']);
  });

  it('mounts the kernel interfaces under /proc read-only, after /proc itself', () => {
    for (const path of ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus']) {
      expect(pairs(argv, '--ro-bind-try')).toContainEqual([path, path]);
      expect(argv.indexOf(path)).toBeGreaterThan(argv.indexOf('--proc'));
    }
  });

  it('sizes /tmp and /dev/shm, the latter after /dev', () => {
    expect(sizedTmpfs(argv)).toContainEqual(['/tmp', '1024']);
    expect(sizedTmpfs(argv)).toContainEqual(['/dev/shm', '1024']);
    expect(argv.indexOf('/dev/shm')).toBeGreaterThan(argv.indexOf('--dev'));
  });

  it("binds the jail's own bounded /dev/pts over bwrap's, after /dev", () => {
    const own = bwrapArgv({ ...base, premounted: { pts: '/host/rt/sized/pts' } });
    expect(pairs(own, '--dev-bind')).toEqual([['/host/rt/sized/pts', '/dev/pts']]);
    expect(own.indexOf('/dev/pts')).toBeGreaterThan(own.indexOf('--dev'));
  });

  it('puts /dev/full at /dev/zero only without a memory cgroup (premounted tmpfs)', () => {
    const tmpfs = {
      tmp: '/host/rt/sized/tmp',
      shm: '/host/rt/sized/shm',
      workdir: '/host/rt/sized/workspace',
    };
    const weaker = bwrapArgv({ ...base, premounted: { pts: '/host/rt/sized/pts', tmpfs } });
    expect(pairs(weaker, '--dev-bind')).toContainEqual(['/dev/full', '/dev/zero']);
    expect(weaker.indexOf('/dev/zero')).toBeGreaterThan(weaker.indexOf('--dev'));
    const cgroup = bwrapArgv({ ...base, premounted: { pts: '/host/rt/sized/pts' } });
    expect(cgroup).not.toContain('/dev/zero');
  });

  it("mounts the profile's extra paths read-only at the same place", () => {
    const extra = bwrapArgv({ ...base, readOnlyMounts: ['/opt/agent'] });
    expect(pairs(extra, '--ro-bind')).toContainEqual(['/opt/agent', '/opt/agent']);
  });

  it('makes the jail root read-only after the last mount', () => {
    expect(flagValue(argv, '--remount-ro')).toBe('/');
    expect(argv.indexOf('--remount-ro')).toBeGreaterThan(argv.lastIndexOf('--ro-bind'));
    expect(argv.indexOf('--remount-ro')).toBeGreaterThan(argv.lastIndexOf('--tmpfs'));
  });

  it('clears the environment and passes only the given one', () => {
    expect(argv).toContain('--clearenv');
    expect(argv.indexOf('--clearenv')).toBeLessThan(argv.indexOf('--setenv'));
    expect(pairs(argv, '--setenv')).toEqual([['A', '1']]);
  });

  it('loads the seccomp filter and reports status on the file descriptors given', () => {
    const fds = bwrapArgv({ ...base, seccompFd: 4, statusFd: 3 });
    expect(flagValue(fds, '--seccomp')).toBe('4');
    expect(flagValue(fds, '--json-status-fd')).toBe('3');
  });

  it('runs the entry command last, after every option', () => {
    const entry = ['/bin/sh', '-c', 'bridge', '--', 'agent', '--go'];
    expect(argv.slice(-entry.length)).toEqual(entry);
    expect(argv[argv.length - entry.length - 1]).toBe('--');
    expect(argv.indexOf('--')).toBe(argv.length - entry.length - 1);
  });
});
