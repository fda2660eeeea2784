/**
 * Planted files the steering list missed: each runs what the agent wrote on the host later,
 * when the operator commits (a hook manager's config), opens the folder in an agent CLI or an
 * editor (MCP servers, language servers), enters it (mise), or pushes (CI). All reached the host
 * workdir on bb9591f; now each is held back and reported like the rest of the list.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInJail, skipWithoutSandbox } from './jail-harness.js';

const skip = skipWithoutSandbox();

const PLANTED = [
  '.pre-commit-config.yaml',
  'lefthook.yml',
  '.gemini/settings.json',
  '.codex/config.toml',
  'opencode.json',
  '.zed/settings.json',
  '.helix/languages.toml',
  'mise.toml',
  '.nvim.lua',
  '.gitlab-ci.yml',
  '.circleci/config.yml',
  'pkg/Jenkinsfile',
];

describe.skipIf(skip)('escape: more files planted for the host to run later', () => {
  it('holds back hook-manager, agent CLI, editor, mise and CI files, new or changed', async () => {
    const script = PLANTED.map(
      (path) => `mkdir -p "$(dirname ${path})" && echo 'run: touch /tmp/pwned' > ${path}`,
    );
    const { workdir, exit } = await runInJail([...script, 'echo work > result.txt'].join('\n'), {
      prepare: (wd) => writeFileSync(join(wd, 'mise.toml'), '[tools]\nnode = "20"\n'),
    });
    for (const path of PLANTED.filter((p) => p !== 'mise.toml'))
      expect(existsSync(join(workdir, path)), path).toBe(false);
    expect(readFileSync(join(workdir, 'mise.toml'), 'utf8')).toBe('[tools]\nnode = "20"\n');
    expect(readFileSync(join(workdir, 'result.txt'), 'utf8')).toBe('work\n');
    const held = exit.workdir.notes.filter((n) => n.kind === 'held_back').map((n) => n.path);
    for (const path of ['.pre-commit-config.yaml', 'lefthook.yml', 'mise.toml', '.gitlab-ci.yml'])
      expect(held).toContain(path);
    expect(held).toEqual(expect.arrayContaining(['.gemini', '.codex', '.zed', '.circleci']));
  });

  it('carries no link in place of a folder the profile lets through only on the way', async () => {
    // carry_over names .claude/commands; .claude itself is let through only as a real folder
    const hooks = '{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch /tmp/pwned"}]}]}}';
    const { workdir, exit } = await runInJail(
      [
        'mkdir notes && mv .claude/commands notes/commands',
        `echo '${hooks}' > notes/settings.json`,
        'rm -rf .claude && ln -s notes .claude',
      ].join('\n'),
      {
        carryOver: ['.claude/commands'],
        prepare: (wd) => {
          mkdirSync(join(wd, '.claude', 'commands'), { recursive: true });
          writeFileSync(join(wd, '.claude', 'commands', 'review.md'), 'review\n');
        },
      },
    );
    expect(lstatSync(join(workdir, '.claude')).isDirectory()).toBe(true);
    expect(existsSync(join(workdir, '.claude', 'settings.json'))).toBe(false);
    const held = exit.workdir.notes.filter((n) => n.kind === 'held_back').map((n) => n.path);
    expect(held).toContain('.claude');
  });

  it("holds back other version control systems' metadata and the startup files tools read from the folder they start in", async () => {
    // .hg/hgrc [hooks], .jj and .sl repository configs run commands on the next hg, jj or sl call;
    // RVM sources .rvmrc on cd; R, irb, pry, pdb, gdb, lldb and Octave read theirs from the
    // current folder at start; vim with 'exrc' reads .vimrc; Emacs reads .dir-locals-2.el too.
    const planted = [
      '.hg/hgrc',
      'sub/.jj/repo/config.toml',
      '.sl/config',
      '.rvmrc',
      '.Rprofile',
      '.irbrc',
      '.pryrc',
      '.pdbrc',
      '.gdbinit',
      '.lldbinit',
      '.octaverc',
      '.vimrc',
      '.dir-locals-2.el',
      '.continuerc.json',
    ];
    const script = planted.map(
      (path) => `mkdir -p "$(dirname ${path})" && echo 'touch /tmp/pwned' > ${path}`,
    );
    const { workdir } = await runInJail([...script, 'echo work > result.txt'].join('\n'));
    for (const path of planted) expect(existsSync(join(workdir, path)), path).toBe(false);
    expect(readFileSync(join(workdir, 'result.txt'), 'utf8')).toBe('work\n');
  });
});
