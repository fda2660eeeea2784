import { describe, expect, it } from 'vitest';
import { bwrapArgv } from './bwrap-argv.js';

const base = {
  workdir: '/host/work',
  env: { A: '1' },
  command: ['agent', '--go'],
  tmpSizeBytes: 1024,
  runtimeDir: '/host/rt',
  bridgeScript: '/host/bridge.mjs',
  bridges: [{ port: 7300, socket: '/run/bulkhead/gateway.sock' }],
  emptyFile: '/host/empty',
  emptyDir: '/host/emptydir',
  existing: () => undefined,
};

const pairs = (argv: string[], flag: string) =>
  argv.flatMap((a, i) => (a === flag ? [[argv[i + 1], argv[i + 2]]] : []));

describe('bubblewrap argv', () => {
  const argv = bwrapArgv(base);
  it('unshares every namespace, drops capabilities and clears the environment', () => {
    for (const flag of ['--unshare-all', '--die-with-parent', '--new-session', '--clearenv'])
      expect(argv).toContain(flag);
    expect(argv.slice(argv.indexOf('--cap-drop'), argv.indexOf('--cap-drop') + 2)).toEqual([
      '--cap-drop',
      'ALL',
    ]);
    expect(argv).not.toContain('--share-net');
  });
  it('binds the workdir as the only writable host path', () => {
    expect(pairs(argv, '--bind')).toEqual([['/host/work', '/workspace']]);
  });
  it('never mounts the host root, /root or /home', () => {
    const sources = [
      ...pairs(argv, '--ro-bind'),
      ...pairs(argv, '--ro-bind-try'),
      ...pairs(argv, '--bind'),
    ].map(([src]) => src);
    for (const forbidden of ['/', '/root', '/home', '/var', '/run']) expect(sources).not.toContain(forbidden);
  });
  it('mounts read-only placeholders over protected files that do not exist', () => {
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/empty', '/workspace/.mcp.json']);
    expect(pairs(argv, '--ro-bind')).toContainEqual(['/host/emptydir', '/workspace/.git']);
  });
  it('limits /tmp with a sized tmpfs', () => {
    expect(argv.slice(argv.indexOf('--size'), argv.indexOf('--size') + 4)).toEqual([
      '--size',
      '1024',
      '--tmpfs',
      '/tmp',
    ]);
  });
  it('passes only the given environment, and runs the command behind the bridge', () => {
    expect(pairs(argv, '--setenv')).toEqual([['A', '1']]);
    expect(argv.slice(-3)).toEqual(['--', 'agent', '--go']);
  });
});
