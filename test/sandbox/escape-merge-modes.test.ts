/**
 * What the agent writes reaches the host no more writable than it was: a file or folder the jail
 * made writable by group or others arrived so (chmod 666 build.sh, chmod 777 a folder), and any
 * local user could then rewrite what the operator runs next or plant files beside it. The host's
 * own group write on an entry the agent edits is kept.
 */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInJail, skipWithoutSandbox } from './jail-harness.js';

const skip = skipWithoutSandbox();
const modeOf = (path: string) => statSync(path).mode & 0o7777;

describe.skipIf(skip)('escape: the merge grants no write to other local users', () => {
  it('strips group and other write the agent added, keeps what the host had', async () => {
    const { workdir } = await runInJail(
      [
        'printf "#!/bin/sh\\necho built\\n" > build.sh && chmod 777 build.sh',
        'echo y > notes.txt && chmod 666 notes.txt',
        'mkdir drop && chmod 777 drop && echo z > drop/f',
        'echo edited >> shared.txt',
        'echo x > suid && chmod 6777 suid',
        'chmod 666 existing.txt',
      ].join('\n'),
      {
        prepare: (wd) => {
          writeFileSync(join(wd, 'shared.txt'), 'team\n');
          chmodSync(join(wd, 'shared.txt'), 0o664);
          writeFileSync(join(wd, 'existing.txt'), 'same\n');
          chmodSync(join(wd, 'existing.txt'), 0o644);
          mkdirSync(join(wd, 'kept'));
        },
      },
    );
    expect(modeOf(join(workdir, 'build.sh'))).toBe(0o755);
    expect(modeOf(join(workdir, 'notes.txt'))).toBe(0o644);
    expect(modeOf(join(workdir, 'drop'))).toBe(0o755);
    expect(modeOf(join(workdir, 'suid'))).toBe(0o755);
    expect(modeOf(join(workdir, 'existing.txt'))).toBe(0o644);
    expect(modeOf(join(workdir, 'shared.txt'))).toBe(0o664); // the host's group write stays
  });
});
