/**
 * The build of `bulkhead run` (dist/bundle/run.cjs, scripts/bundle-cli.mjs):
 * its V8 code cache must be one this node accepts, or every run silently
 * compiles the whole bundle again.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/harness.js';

const { compileBundle } = createRequire(import.meta.url)(join(ROOT, 'bin', 'load-bundle.js')) as {
  compileBundle(file: string, cache: Buffer): { script: { cachedDataRejected?: boolean } };
};

describe('the bundle of bulkhead run', () => {
  it('loads with the code cache the build recorded (V8 does not reject it)', () => {
    const file = join(ROOT, 'dist', 'bundle', 'run.cjs');
    const { script } = compileBundle(file, readFileSync(`${file}.cache`));
    expect(script.cachedDataRejected).toBe(false);
  });
});
