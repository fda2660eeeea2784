import { describe, expect, it } from 'vitest';
import { isBulkheadError } from '../errors.js';
import { type BwrapSpec, bwrapArgv, type PathKind } from './bwrap-argv.js';

const base: BwrapSpec = {
  workdir: '/host/work',
  env: { A: '1' },
  entry: ['/bin/sh', '-c', 'bridge', '--', 'agent', '--go'],
  tmpSizeBytes: 1024,
  runtimeDir: '/host/rt',
  emptyFile: '/host/empty',
  emptyDir: '/host/emptydir',
  existing: () => undefined,
};

const withExisting = (kinds: Record<string, PathKind>): BwrapSpec => ({
  ...base,
  existing: (relative) => kinds[relative],
});

const pairs = (argv: string[], flag: string) =>
  argv.flatMap((a, i) => (a === flag ? [[argv[i + 1], argv[i + 2]]] : []));

const flagValue = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

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

  it('binds the workdir as the only writable host path', () => {
    expect(pairs(argv, '--bind')).toEqual([['/host/work', '/workspace']]);
  });

  it('never mounts the host root, /root, /home, /var, /run or /etc as a whole', () => {
    const sources = [
      ...pairs(argv, '--ro-bind'),
      ...pairs(argv, '--ro-bind-try'),
      ...pairs(argv, '--bind'),
    ].map(([src]) => src);
    for (const forbidden of ['/', '/root', '/home', '/var', '/run', '/etc', '/etc/passwd', '/etc/shadow'])
      expect(sources).not.toContain(forbidden);
  });

  it('generates passwd, group and hosts instead of binding the host ones', () => {
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/rt/passwd', '/etc/passwd']);
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/rt/hosts', '/etc/hosts']);
  });

  it('mounts read-only placeholders over steering files that do not exist', () => {
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/empty', '/workspace/.mcp.json']);
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/empty', '/workspace/.bashrc']);
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/empty', '/workspace/.claude/settings.json']);
  });

  it('makes a missing .git an empty read-only folder, so no repository with hooks can be planted', () => {
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/emptydir', '/workspace/.git']);
  });

  it('binds existing git hooks and config read-only onto themselves', () => {
    const git = bwrapArgv(withExisting({ '.git': 'dir', '.git/hooks': 'dir', '.git/config': 'file' }));
    expect(pairs(git, '--ro-bind')).toContainEqual(['/host/work/.git/hooks', '/workspace/.git/hooks']);
    expect(pairs(git, '--ro-bind')).toContainEqual(['/host/work/.git/config', '/workspace/.git/config']);
  });

  it('keeps a worktree .git pointer file read-only', () => {
    const git = bwrapArgv(withExisting({ '.git': 'file' }));
    expect(pairs(git, '--ro-bind')).toContainEqual(['/host/work/.git', '/workspace/.git']);
  });

  for (const path of ['.bashrc', '.git', '.git/config', '.claude/settings.json']) {
    it(`refuses a symlink at ${path} rather than bind its host target`, () => {
      const kinds: Record<string, PathKind> = { '.git': 'dir', [path]: 'symlink' };
      let error: unknown;
      try {
        bwrapArgv(withExisting(kinds));
      } catch (e) {
        error = e;
      }
      expect(isBulkheadError(error, 'sandbox_unavailable')).toBe(true);
    });
  }

  it('makes the jail root read-only after the last mount', () => {
    expect(flagValue(argv, '--remount-ro')).toBe('/');
    expect(argv.indexOf('--remount-ro')).toBeGreaterThan(argv.lastIndexOf('--ro-bind'));
  });

  it('limits /tmp with a sized tmpfs', () => {
    expect(argv.slice(argv.indexOf('--size'), argv.indexOf('--size') + 4)).toEqual([
      '--size',
      '1024',
      '--tmpfs',
      '/tmp',
    ]);
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

  it('binds the node bridge program only when it is given', () => {
    expect(argv).not.toContain('/run/bulkhead-bridge.mjs');
    const node = bwrapArgv({ ...base, bridgeScript: '/host/bridge.mjs' });
    expect(pairs(node, '--ro-bind')).toContainEqual(['/host/bridge.mjs', '/run/bulkhead-bridge.mjs']);
  });
});
