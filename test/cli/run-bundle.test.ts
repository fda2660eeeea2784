/**
 * The build of `bulkhead run` (dist/bundle/run.cjs, scripts/bundle-cli.mjs):
 * its V8 code cache must be one this node accepts, or every run silently
 * compiles the whole bundle again; and the policy parser, bundled apart
 * (dist/bundle/policy.cjs), must still report a broken policy as one.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { ROOT, tempDir } from '../helpers/harness.js';

const { compileBundle, loadBundle, loaded, trustedCache } = createRequire(import.meta.url)(
  join(ROOT, 'bin', 'load-bundle.js'),
) as {
  compileBundle(file: string, cache: Buffer): { script: { cachedDataRejected?: boolean } };
  loadBundle(file: string): unknown;
  loaded: Map<string, { cachedDataRejected?: boolean }>;
  trustedCache(file: string): Buffer | undefined;
};

/** run.cjs and its code cache copied to a folder of their own (0644 both, as the build leaves them). */
function bundleCopy(): string {
  const file = join(tempDir('bulkhead-bundle-cache-'), 'run.cjs');
  copyFileSync(join(ROOT, 'dist', 'bundle', 'run.cjs'), file);
  copyFileSync(join(ROOT, 'dist', 'bundle', 'run.cjs.cache'), `${file}.cache`);
  chmodSync(file, 0o644);
  chmodSync(`${file}.cache`, 0o644);
  return file;
}

/** Whether loading FILE handed V8 a code cache: V8 says accepted (false) or rejected (true) only then. */
function loadedWithCache(file: string): boolean {
  loadBundle(file);
  return loaded.get(file)?.cachedDataRejected !== undefined;
}

describe('the bundle of bulkhead run', () => {
  it('loads with the code caches the build recorded (V8 rejects neither)', () => {
    for (const name of ['run.cjs', 'policy.cjs']) {
      const file = join(ROOT, 'dist', 'bundle', name);
      const { script } = compileBundle(file, readFileSync(`${file}.cache`));
      expect(script.cachedDataRejected, name).toBe(false);
    }
  });

  it('uses a code cache no easier to write than the bundle', () => {
    const file = bundleCopy();
    loadBundle(file);
    expect(loaded.get(file)?.cachedDataRejected).toBe(false);
  });

  it('compiles from the source when the code cache is writable by group or others and the bundle is not', () => {
    // The cache is code V8 runs (checked against the source's length, not its text): a cache others
    // may write would let them decide what `bulkhead run` executes.
    for (const mode of [0o664, 0o646]) {
      const file = bundleCopy();
      chmodSync(`${file}.cache`, mode);
      expect(loadedWithCache(file), mode.toString(8)).toBe(false);
    }
  });

  it('uses a group-writable code cache when the bundle is group-writable too', () => {
    const file = bundleCopy();
    chmodSync(file, 0o664);
    chmodSync(`${file}.cache`, 0o664);
    expect(loadedWithCache(file)).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'compiles from the source when the code cache belongs to another user',
    () => {
      const file = bundleCopy();
      chownSync(`${file}.cache`, 4242, 4242);
      expect(loadedWithCache(file)).toBe(false);
    },
  );

  it('takes no code cache from a FIFO in its place, without waiting for a writer', () => {
    const file = bundleCopy();
    execFileSync('rm', [`${file}.cache`]);
    execFileSync('mkfifo', ['-m', '0644', `${file}.cache`]);
    expect(trustedCache(file)).toBeUndefined();
  });

  it('is compiled as read: minified, its module wrapper in the file', () => {
    // Every page of the source is read, copied into V8's heap and (were it wrapped at load) copied
    // again at each start: the 272 KB of an unminified bundle cost ~200 fresh pages (bench/README.md).
    const file = join(ROOT, 'dist', 'bundle', 'run.cjs');
    const source = readFileSync(file, 'utf8');
    expect(source.startsWith('(function (exports, require, module, __filename, __dirname) {')).toBe(true);
    expect(source.trimEnd().endsWith('})')).toBe(true);
    expect(Buffer.byteLength(source)).toBeLessThan(160 * 1024);
  });

  it("evaluates without the jail's modules, which only a jailed run loads", () => {
    // The jail's servers and resolver are the only users of these in `bulkhead run`: a --no-sandbox
    // or --detach run that evaluated them paid for node's module loads and their code for nothing.
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(join(ROOT, 'bin', 'load-bundle.js'))}).loadBundle(${JSON.stringify(join(ROOT, 'dist', 'bundle', 'run.cjs'))});
         console.log(process.moduleLoadList.join('\\n'))`,
      ],
      { encoding: 'utf8' },
    ).split('\n');
    expect(loaded).toContain('NativeModule child_process');
    for (const jailOnly of ['dns/promises', 'timers/promises'])
      expect(loaded).not.toContain(`NativeModule ${jailOnly}`);
  });

  it('reports every problem of a broken policy with its position, exit 2, from the build', async () => {
    const dir = tempDir('bulkhead-bundle-');
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'version: 1\nprofiles:\n  x: { sandbox: { memory: lots } }\n');
    const home = join(dir, 'home');
    const result = await bulkhead(['run', '--policy', file, '--profile', 'x', '--', 'true'], {
      env: { BULKHEAD_FROM_SOURCE: '', BULKHEAD_HOME: home },
    });
    expect(result.stderr).toContain('the policy has 2 problems');
    expect(result.stderr).toContain(`${file}:3:27: profiles.x.sandbox.memory`);
    expect(result.code).toBe(2);
  });
});
