import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, operatorChoseGrowth, widenHeapHeadroom } from './heap-headroom.js';

describe('the gateway process heap headroom', () => {
  it('sets a fixed growing factor when the operator set none', () => {
    const set: string[] = [];
    expect(widenHeapHeadroom([], undefined, (flag) => set.push(flag))).toBe(true);
    expect(set).toEqual([`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
  });

  it("is a flag this node's V8 knows (an unknown one is refused on stderr)", () => {
    const module = fileURLToPath(new URL('./heap-headroom.ts', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then((m) => console.log(m.widenHeapHeadroom([], '')))`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('true');
  });

  it.each([
    [['--heap-growing-percent=50'], undefined],
    [['--heap_growing_percent=0'], undefined],
    [['--heap-growing-percent', '80'], undefined],
    [[], '--max-old-space-size=512 --heap-growing-percent=0'],
    [[], '--heap-growing-percent 20'],
  ])("keeps the operator's own choice (argv %j, NODE_OPTIONS %j)", (execArgv, nodeOptions) => {
    const set: string[] = [];
    expect(operatorChoseGrowth(execArgv, nodeOptions)).toBe(true);
    expect(widenHeapHeadroom(execArgv, nodeOptions, (flag) => set.push(flag))).toBe(false);
    expect(set).toEqual([]);
  });

  it('is not fooled by other flags that share a prefix', () => {
    expect(operatorChoseGrowth(['--heap-growing-percentage=5', '--max-old-space-size=512'], '')).toBe(false);
    expect(operatorChoseGrowth([], '--no-heap-growing-percent-x')).toBe(false);
  });
});
