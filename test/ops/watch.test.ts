/** The policy file watch: an editor's save (write, or a new file renamed over the old) triggers one reload. */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchPolicyFile } from '../../src/gateway/watch.js';
import { tempDir } from '../helpers/harness.js';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('policy file watch', () => {
  it('folds a burst of writes into one call and follows a rename over the file', async () => {
    const dir = tempDir();
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'version: 1\n');
    let calls = 0;
    const stop = watchPolicyFile(file, () => calls++, 100);
    try {
      await settle(100);
      for (let i = 0; i < 5; i++) writeFileSync(file, `version: 1\n# ${i}\n`);
      await settle(600);
      expect(calls).toBe(1);
      writeFileSync(join(dir, 'policy.yaml.tmp'), 'version: 1\n# renamed\n');
      renameSync(join(dir, 'policy.yaml.tmp'), file);
      await settle(600);
      expect(calls).toBe(2);
      writeFileSync(join(dir, 'unrelated.txt'), 'x');
      await settle(600);
      expect(calls).toBe(2);
    } finally {
      stop();
    }
  });
});
