/**
 * Escape class: places outside the workdir the jail shares with the host or
 * with other runs. People start `bulkhead run` in /tmp; the folder that holds
 * every jail's runtime folder (its run token files) is the temporary folder,
 * so a workdir there streamed other runs' tokens and other users' files
 * (read by host tar as the launcher, root) into the jail.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isBulkheadError } from '../../src/errors.js';
import { type JailHandle, startJail } from '../../src/sandbox/index.js';
import { jailSpec, runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const TOKEN = 'bh_run_token_canary_5e2a91c7';

const refusal = async (workdir: string): Promise<unknown> => {
  const error = await startJail(jailSpec(workdir, ['/bin/true'])).catch((e: unknown) => e);
  if (!isBulkheadError(error)) await (error as { exited?: Promise<unknown> }).exited;
  return error;
};

describe.skipIf(skip)('escape: folders shared with the host or other runs', () => {
  const savedTmp = process.env.TMPDIR;
  afterEach(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  });

  it("another run's token in its runtime folder never reaches a jail whose workdir holds that folder", async () => {
    const tmp = tempDir('bulkhead-tmpdir-');
    // Not sticky: the temporary folder is refused for holding the runtime folders, not for its mode.
    chmodSync(tmp, 0o755);
    process.env.TMPDIR = tmp;
    const other: JailHandle = await startJail({
      ...jailSpec(tempDir('bulkhead-wd-'), ['/bin/sleep', '30']),
      files: { 'mcp.json': `{"token":"${TOKEN}"}` },
    });
    try {
      expect(readdirSync(tmp).some((name) => name.startsWith('bulkhead-jail-'))).toBe(true);
      const result = await runInJail('cat /workspace/bulkhead-jail-*/shared/mcp.json; echo end', {
        workdirAt: tmp,
      }).catch((e: unknown) => e);
      if (isBulkheadError(result)) expect(isBulkheadError(result, 'workdir_refused')).toBe(true);
      else expect((result as { out: string }).out).not.toContain(TOKEN);
    } finally {
      await other.kill('test over');
      await other.exited;
    }
  });

  for (const path of ['/tmp', '/var/tmp', '/dev/shm']) {
    it(`refuses ${path} as the workdir: it holds other users' files and other runs' runtime folders`, async () => {
      const error = await refusal(path);
      expect(isBulkheadError(error, 'workdir_refused')).toBe(true);
      expect((error as Error).message).toMatch(/shared|temporary/);
    });
  }

  for (const path of ['/proc/self', '/proc', '/sys/kernel', '/run', '/dev']) {
    it(`refuses ${path} as the workdir: kernel and runtime state (every process's environment, mounted secrets)`, async () => {
      if (!existsSync(path)) return;
      const error = await refusal(path);
      expect(isBulkheadError(error, 'workdir_refused')).toBe(true);
    });
  }

  it('refuses any folder every user may write into (sticky, world-writable)', async () => {
    const parent = tempDir('bulkhead-shared-');
    const shared = join(parent, 'drop');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    writeFileSync(join(shared, 'other-user-file'), 'x');
    expect(isBulkheadError(await refusal(shared), 'workdir_refused')).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "another local user cannot read a running jail's files (its run token) on the host",
    async () => {
      const tmp = tempDir('bulkhead-tmpdir-');
      chmodSync(tmp, 0o755);
      process.env.TMPDIR = tmp;
      const jail = await startJail({
        ...jailSpec(tempDir('bulkhead-wd-'), ['/bin/sleep', '30']),
        files: { 'mcp.json': `{"token":"${TOKEN}"}` },
      });
      try {
        // The path is no secret: bwrap's command line names it to every user (ps).
        const runtime = readdirSync(tmp).find((name) => name.startsWith('bulkhead-jail-')) ?? '';
        const file = join(tmp, runtime, 'shared', 'mcp.json');
        const read = spawnSync('runuser', ['-u', 'nobody', '--', 'cat', file], { encoding: 'utf8' });
        expect(read.stdout).not.toContain(TOKEN);
        expect(read.stderr).toMatch(/Permission denied/);
      } finally {
        await jail.kill('test over');
        await jail.exited;
      }
    },
  );
});
