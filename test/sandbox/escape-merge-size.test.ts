/**
 * The merge back to the host writes no more than the jail's workdir could hold. A sparse file
 * costs the jail's tmpfs nothing however large it reads, and ten names of one file cost it one
 * copy; the merge copied each name, every byte, so 100 MB in the jail became 3 GB on the host's
 * disk, and `truncate -s 10T` would have filled it.
 */
import { execSync } from 'node:child_process';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInJail, skipWithoutSandbox } from './jail-harness.js';

const skip = skipWithoutSandbox();

describe.skipIf(skip)('escape: the merge writes no more than the workdir holds', () => {
  it('drops a sparse file larger than the workdir size, carrying the rest', async () => {
    const { workdir, exit } = await runInJail(
      ['truncate -s 4G sparse.bin', 'echo kept > small.txt'].join('\n'),
      { workdirMb: 32, memoryMb: 128 },
    );
    expect(() => lstatSync(join(workdir, 'sparse.bin'))).toThrow();
    expect(statSync(join(workdir, 'small.txt')).size).toBe(5);
    const dropped = exit.workdir.notes.filter((n) => n.kind === 'dropped').map((n) => n.path);
    expect(dropped).toEqual(['sparse.bin']);
  });

  it('carries the names of one file as one inode, not a copy per name', async () => {
    const { workdir } = await runInJail(
      [
        'head -c 8000000 /dev/urandom > big.bin',
        'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do ln big.bin "link$i.bin"; done',
      ].join('\n'),
      { workdirMb: 32, memoryMb: 128 },
    );
    const names = readdirSync(workdir).filter((n) => n.endsWith('.bin'));
    expect(names).toHaveLength(13); // 13 x 8 MB would not fit the 32 MB budget as copies
    const inodes = new Set(names.map((n) => statSync(join(workdir, n)).ino));
    expect(inodes.size).toBe(1);
    expect(statSync(join(workdir, 'big.bin')).nlink).toBe(13);
  });

  it('counts every name it writes against the workdir size: empty folders, files and links cost the tmpfs nothing', async () => {
    const { workdir, exit } = await runInJail(
      `node -e "const fs=require('fs');fs.mkdirSync('many');for(let i=0;i<3000;i++){fs.mkdirSync('many/d'+i);fs.writeFileSync('many/f'+i,'');fs.symlinkSync('f1','many/l'+i)}"`,
      { workdirMb: 1, memoryMb: 128 },
    );
    // 1 MiB at 4 KiB a name: 256 names, where 9,000 (36 MB of folder blocks on ext4) arrived before.
    const names = Number(execSync(`find ${workdir} | wc -l`).toString().trim());
    expect(names).toBeLessThanOrEqual(260);
    const dropped = exit.workdir.notes.filter((n) => n.kind === 'dropped');
    expect(dropped.length).toBeLessThanOrEqual(101);
    expect(dropped.at(-1)?.reason).toMatch(/more entries .* past the workdir size/);
  });

  it('carries the rest of the run when the agent nests folders 20,000 deep, dropping what is too deep', async () => {
    const { workdir, exit } = await runInJail(
      [
        `node -e "const fs=require('fs');fs.mkdirSync('deep');process.chdir('deep');for(let i=0;i<20000;i++){fs.mkdirSync('a');process.chdir('a')}"`,
        'echo kept > top.txt',
      ].join('\n'),
      { workdirMb: 64, memoryMb: 256 },
    );
    // Before, the scan overflowed its stack and the whole merge failed: top.txt never arrived.
    expect('error' in exit.workdir ? exit.workdir.error : undefined).toBeUndefined();
    expect(statSync(join(workdir, 'top.txt')).size).toBe(5);
    const dropped = exit.workdir.notes.filter((n) => n.kind === 'dropped');
    expect(dropped.map((n) => n.reason)).toEqual([expect.stringMatching(/more than 256 folders deep/)]);
  });
});
