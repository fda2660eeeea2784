import { describe, expect, it } from 'vitest';
import { bridgeEntry, defaultBridgeKind, jailBridges } from './bridge.js';

describe('bridge entry', () => {
  it('passes socat each port and its socket, then the command', () => {
    const entry = bridgeEntry('socat', jailBridges(), ['agent', '--go']);
    expect(entry.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(entry.slice(3)).toEqual([
      'bulkhead-init',
      'socat',
      JSON.stringify(jailBridges()),
      'tar',
      '7300',
      '/run/bulkhead/gateway.sock',
      '7301',
      '/run/bulkhead/egress.sock',
      '--',
      'agent',
      '--go',
    ]);
  });

  it('runs the agent only after the wait, by exec, so its exit code is the jail exit code', () => {
    const script = bridgeEntry('socat', jailBridges(), ['agent'])[2] ?? '';
    expect(script.trim().endsWith('exec "$@"')).toBe(true);
    expect(script.indexOf('wait "$bridging" || exit 125')).toBeLessThan(script.indexOf('exec "$@"'));
  });

  it('hands the node bridge its spec as JSON, and runs it from the runtime folder', () => {
    const entry = bridgeEntry('node', jailBridges(), ['agent']);
    expect(entry.slice(3, 6)).toEqual(['bulkhead-init', 'node', JSON.stringify(jailBridges())]);
    expect(entry[2]).toContain('exec /usr/bin/node /run/bulkhead/bridge.mjs "$spec" -- "$@"');
  });

  it('stages the workdir and closes the staging descriptors before the agent starts', () => {
    const script = bridgeEntry('socat', jailBridges(), ['agent'])[2] ?? '';
    expect(script.indexOf('tar -x')).toBeLessThan(script.indexOf('exec 6>&- 7<&-'));
    expect(script.indexOf('exec 6>&- 7<&-')).toBeLessThan(script.indexOf('exec "$@"'));
  });

  it('starts the bridges beside the staging, never holding its descriptors', () => {
    const script = bridgeEntry('socat', jailBridges(), ['agent'])[2] ?? '';
    expect(script).toContain('{ bridges "$@" | ready $((want / 2)); } 5<&- 6>&- 7<&- &');
  });

  it('tells the init to unpack nothing for an empty workdir, and to unpack the archive otherwise', () => {
    const empty = bridgeEntry('socat', jailBridges(), ['agent'], 'empty');
    expect(empty[6]).toBe('empty');
    expect(empty[2]).toContain('if [ "$stage" = empty ]; then :; elif ! err=$(tar -x');
    expect(bridgeEntry('socat', jailBridges(), ['agent'])[6]).toBe('tar');
  });

  it('prefers socat when it is installed, else node', () => {
    expect(defaultBridgeKind(() => true)).toBe('socat');
    expect(defaultBridgeKind(() => false)).toBe('node');
  });
});
