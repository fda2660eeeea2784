/**
 * A launcher killed with SIGKILL runs no cleanup: its runtime folder (the jail's shared folder, with
 * the run's token) stayed in the temporary folder. The next launch removes it once its own jail
 * runs, judging by the owner's pid and start time (src/sandbox/runtime-folder.ts).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const HARNESS = join(import.meta.dirname, 'jail-harness.ts');
const ROOT = join(import.meta.dirname, '../..');
/** Unprivileged, no cgroup can be made: per-process limits stand in (the profile's sandbox.weaker_limits). */
const weakerLimits = process.getuid?.() !== 0;
const runtimes = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('bulkhead-jail-'));

describe.skipIf(skip)('runtime folders of killed launchers', () => {
  it('removes the runtime folder of a launcher killed with SIGKILL at the next launch', async () => {
    const tmp = tempDir('bulkhead-rt-');
    chmodSync(tmp, 0o1777); // as /tmp: the jail's identity passes through to its shared folder
    const script = join(tmp, 'launcher.mts');
    writeFileSync(
      script,
      `import { runInJail } from ${JSON.stringify(HARNESS)};\n` +
        `await runInJail('sleep 60', { weakerLimits: ${weakerLimits}, started: () => { console.log('STARTED'); } });\n`,
    );
    // node itself, not the tsx command: that runs the script in a child node the SIGKILL misses.
    const launcher = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      launcher.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('STARTED')) resolve();
      });
      launcher.once('exit', () => reject(new Error(`the launcher ended before its jail ran: ${out}`)));
    });
    const exited = once(launcher, 'exit');
    launcher.kill('SIGKILL');
    await exited;
    const left = runtimes(tmp);
    expect(left).toHaveLength(1);

    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const { exit } = await runInJail('true', { weakerLimits });
      expect(exit.exitCode).toBe(0);
    } finally {
      process.env.TMPDIR = before;
    }
    expect(runtimes(tmp)).toEqual([]);
  });
});
