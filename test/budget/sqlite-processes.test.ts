/**
 * The SQLite call cap holds across processes sharing one file (several CLIs
 * or a restarted gateway next to a live one): four processes race 50
 * reservations each against a cap of 60.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { ROOT, tempDir } from '../helpers/harness.js';

const WORKER = `
import { openSqliteStore } from ${JSON.stringify(join(ROOT, 'src/store/sqlite/index.ts'))};
const store = openSqliteStore(process.argv[2]);
let granted = 0;
for (let i = 0; i < 50; i++) {
  const r = await store.calls.reserve({ runId: 'run_shared', tool: 't', cap: 60, now: Date.now() });
  if (r.ok) granted++;
}
process.stdout.write(String(granted));
`;

function worker(file: string, script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, file], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(Number(out)) : reject(new Error(`worker exited ${code}`)),
    );
  });
}

describe('SQLite call cap across processes', () => {
  it('grants exactly the cap to four racing processes', async () => {
    const dir = tempDir();
    const file = join(dir, 'shared.db');
    openSqliteStore(file).close();
    const script = join(dir, 'worker.mts');
    (await import('node:fs')).writeFileSync(script, WORKER);
    const granted = await Promise.all([1, 2, 3, 4].map(() => worker(file, script)));
    expect(granted.reduce((a, b) => a + b, 0)).toBe(60);
    const store = openSqliteStore(file);
    expect((await store.calls.usage('run_shared')).calls).toBe(60);
    await store.close();
  }, 60_000);
});
