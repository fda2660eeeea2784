/**
 * File names that are not UTF-8, end to end. The agent can name a file with any bytes (`printf
 * 'a\377'`); the merge read names as UTF-8, so such a name failed the whole merge and no change of
 * the run reached the host. Staging (host tar into the jail's tar) carries names as bytes; the
 * merge now does too.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInJail, skipWithoutSandbox } from './jail-harness.js';

const skip = skipWithoutSandbox();
const name = (dir: string, ...bytes: number[]) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(bytes)]);

describe.skipIf(skip)('escape: names that are not UTF-8', () => {
  it('stages such a host file in as its bytes and merges the agent’s changes back beside it', async () => {
    const { workdir, out, exit } = await runInJail(
      [
        // What the jail sees: the host's names, byte for byte.
        'for f in a*; do printf %s "$f" | od -An -tx1 | tr -d " "; done',
        `printf 'changed\\n' > "$(printf 'a\\377')"`,
        `printf 'new\\n' > "$(printf 'n\\376\\377')"`,
        'echo plain > plain.txt',
      ].join('\n'),
      {
        weakerLimits: process.getuid?.() !== 0, // unprivileged: no cgroup to make
        prepare: (dir) => {
          writeFileSync(name(dir, 0x61, 0xff), 'host\n');
          writeFileSync(name(dir, 0x61, 0xfe), 'kept\n');
        },
      },
    );
    expect(out.trim().split('\n').sort()).toEqual(['61fe', '61ff']);
    expect(exit.workdir).not.toHaveProperty('error');
    expect(exit.workdir.notes).toEqual([]);
    expect(readFileSync(name(workdir, 0x61, 0xff), 'utf8')).toBe('changed\n');
    expect(readFileSync(name(workdir, 0x61, 0xfe), 'utf8')).toBe('kept\n');
    expect(readFileSync(name(workdir, 0x6e, 0xfe, 0xff), 'utf8')).toBe('new\n');
    expect(readFileSync(join(workdir, 'plain.txt'), 'utf8')).toBe('plain\n');
    expect(readdirSync(workdir, { encoding: 'buffer' })).toHaveLength(6); // with script.sh and out.txt
  });
});
