/**
 * Escape class 3: nothing planted in the workdir runs on the host later.
 * Read-only mounts of a list of steering files lost to renaming a parent, to
 * `.git/commondir`, to a bare repository written at the root, and to files
 * not on the list. Now the jail works on a copy and the final state decides
 * what reaches the host: git metadata and steering files are held back and
 * reported, links pointing outside are dropped, and no host link is written
 * through. Each test is an attack an agent would try, judged on the host
 * after the run.
 */
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WorkdirNote } from '../../src/sandbox/index.js';
import { runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();

const gitRepo = (wd: string) => {
  mkdirSync(join(wd, '.git', 'hooks'), { recursive: true });
  mkdirSync(join(wd, '.git', 'objects'));
  mkdirSync(join(wd, '.git', 'refs'));
  writeFileSync(join(wd, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(wd, '.git', 'config'), '[core]\n\tbare = false\n');
  writeFileSync(join(wd, 'README.md'), 'original\n');
};

const heldBack = (notes: readonly WorkdirNote[]) =>
  notes.filter((n) => n.kind === 'held_back').map((n) => n.path);

describe.skipIf(skip)('escape: files planted for the host to run later', () => {
  it('holds back a .git renamed away and copied back with an fsmonitor and a hook', async () => {
    const { workdir, exit } = await runInJail(
      [
        'mv .git .git-orig && cp -a .git-orig .git',
        'printf "[core]\\n\\tfsmonitor = touch /tmp/pwned\\n" >> .git/config',
        'printf "#!/bin/sh\\ntouch /tmp/pwned\\n" > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit',
        'rm -rf .git-orig',
        'echo changed > README.md',
      ].join('\n'),
      { prepare: gitRepo },
    );
    expect(readFileSync(join(workdir, '.git', 'config'), 'utf8')).toBe('[core]\n\tbare = false\n');
    expect(existsSync(join(workdir, '.git', 'hooks', 'pre-commit'))).toBe(false);
    expect(existsSync(join(workdir, '.git-orig'))).toBe(false);
    expect(readFileSync(join(workdir, 'README.md'), 'utf8')).toBe('changed\n'); // ordinary work still lands
    expect(heldBack(exit.workdir.notes)).toEqual(
      expect.arrayContaining(['.git/config', '.git/hooks/pre-commit']),
    );
  });

  it('holds back a .git/commondir and a worktree .git file pointing elsewhere', async () => {
    const { workdir, exit } = await runInJail('echo /tmp/evil > .git/commondir; echo end', {
      prepare: gitRepo,
    });
    expect(existsSync(join(workdir, '.git', 'commondir'))).toBe(false);
    expect(heldBack(exit.workdir.notes)).toContain('.git/commondir');
    const linked = await runInJail('rm -rf .git; echo "gitdir: /tmp/evil" > .git', { prepare: gitRepo });
    expect(lstatSync(join(linked.workdir, '.git')).isDirectory()).toBe(true);
    expect(heldBack(linked.exit.workdir.notes)).toContain('.git');
  });

  it('holds back a bare repository written at the workdir root or in a subfolder', async () => {
    const bare = (dir: string) =>
      `mkdir -p ${dir}objects ${dir}refs/heads && echo "ref: refs/heads/main" > ${dir}HEAD && printf "[core]\\n\\tbare = true\\n\\tworktree = /\\n\\tfsmonitor = touch /tmp/pwned\\n" > ${dir}config`;
    const { workdir, exit } = await runInJail(
      `${bare('')}\n${bare('third_party/lib/')}\necho fine > notes.txt`,
    );
    for (const path of ['HEAD', 'config', 'third_party/lib/HEAD', 'third_party/lib/config'])
      expect(existsSync(join(workdir, path)), path).toBe(false);
    expect(readFileSync(join(workdir, 'notes.txt'), 'utf8')).toBe('fine\n');
    expect(heldBack(exit.workdir.notes)).toEqual(
      expect.arrayContaining(['HEAD', 'config', 'third_party/lib/HEAD']),
    );
  });

  it('holds back steering files that were never on a list, at any depth, however they got there', async () => {
    const planted = [
      '.npmrc',
      '.envrc',
      '.vscode/tasks.json',
      '.github/workflows/ci.yml',
      '.claude/settings.json',
      '.mcp.json',
      'CLAUDE.md',
      'AGENTS.md',
      'packages/app/.envrc',
      'packages/app/.husky/pre-commit',
    ];
    const script = planted
      .map((p) => `mkdir -p "$(dirname ${p})"; echo planted > ${p}.tmp; mv ${p}.tmp ${p}`)
      .join('\n');
    const { workdir, exit } = await runInJail(`${script}\nmv .cl .claude-old 2>/dev/null; echo end`);
    for (const path of planted) expect(existsSync(join(workdir, path)), path).toBe(false);
    expect(heldBack(exit.workdir.notes).length).toBeGreaterThanOrEqual(planted.length - 2);
  });

  it('keeps an existing steering file unchanged when the agent renames its folder and writes a new one', async () => {
    const { workdir, exit } = await runInJail(
      'mv .claude .claude-old && mkdir .claude && echo \'{"hooks":"evil"}\' > .claude/settings.json',
      {
        prepare: (wd) => {
          mkdirSync(join(wd, '.claude'));
          writeFileSync(join(wd, '.claude', 'settings.json'), '{}');
        },
      },
    );
    expect(readFileSync(join(workdir, '.claude', 'settings.json'), 'utf8')).toBe('{}');
    expect(heldBack(exit.workdir.notes)).toContain('.claude/settings.json');
  });

  it('carries over a steering path the profile names, and only that one', async () => {
    const { workdir } = await runInJail(
      'mkdir -p .vscode && echo "{}" > .vscode/settings.json && echo x > .vscode/tasks.json',
      {
        carryOver: ['.vscode/settings.json'],
      },
    );
    expect(readFileSync(join(workdir, '.vscode', 'settings.json'), 'utf8')).toBe('{}\n');
    expect(existsSync(join(workdir, '.vscode', 'tasks.json'))).toBe(false);
  });

  it('drops links that point outside the workdir, and special files, and reports them', async () => {
    const { workdir, exit } = await runInJail(
      'ln -s /etc/shadow abs; ln -s ../../../etc/passwd climb; mkdir d; ln -s ../README.md d/inside; mkfifo pipe; echo end',
      { prepare: (wd) => writeFileSync(join(wd, 'README.md'), 'r\n') },
    );
    for (const path of ['abs', 'climb', 'pipe'])
      expect(existsSync(join(workdir, path)) || isLink(join(workdir, path)), path).toBe(false);
    expect(isLink(join(workdir, 'd', 'inside'))).toBe(true);
    const dropped = exit.workdir.notes.filter((n) => n.kind === 'dropped').map((n) => n.path);
    expect(dropped).toEqual(expect.arrayContaining(['abs', 'climb', 'pipe']));
  });

  it('drops a link that climbs out through another link, though its target reads as inside', async () => {
    // a/b/c/d/up points at the workdir's root (lexically inside); five `..` after it climb five
    // levels above the workdir on the host, yet cancel a/b/c/d/up when the path is only read.
    const { workdir, exit } = await runInJail(
      'mkdir -p a/b/c/d; ln -s ../../../.. a/b/c/d/up; ln -s a/b/c/d/up/../../../../../etc/passwd via; ln -s a/b/c/d/up/README.md fine; echo end',
      { prepare: (wd) => writeFileSync(join(wd, 'README.md'), 'r\n') },
    );
    expect(isLink(join(workdir, 'via'))).toBe(false);
    expect(isLink(join(workdir, 'a/b/c/d/up'))).toBe(true);
    expect(readFileSync(join(workdir, 'fine'), 'utf8')).toBe('r\n');
    expect(exit.workdir.notes.filter((n) => n.kind === 'dropped').map((n) => n.path)).toContain('via');
  });

  it('never writes through a host hard link or symbolic link in the workdir', async () => {
    const outside = tempDir('bulkhead-outside-');
    writeFileSync(join(outside, 'victim'), 'outside original\n');
    writeFileSync(join(outside, 'target'), 'target original\n');
    const { workdir } = await runInJail('echo overwritten > hard; echo overwritten > soft; echo end', {
      prepare: (wd) => {
        linkSync(join(outside, 'victim'), join(wd, 'hard'));
        symlinkSync(join(outside, 'target'), join(wd, 'soft'));
      },
    });
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('outside original\n');
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('target original\n');
    // The agent's own file replaces the hard link in the workdir; the symlink (to outside) stays.
    expect(readFileSync(join(workdir, 'hard'), 'utf8')).toBe('overwritten\n');
  });

  it('stages and merges a workdir larger than a pipe buffer byte for byte', async () => {
    const big = Buffer.alloc(12 * 1024 * 1024, 7);
    const { workdir, exit } = await runInJail('cat big > copy; echo end', {
      prepare: (wd) => writeFileSync(join(wd, 'big'), big),
    });
    expect(exit.exitCode).toBe(0);
    expect(readFileSync(join(workdir, 'copy')).equals(big)).toBe(true);
  });
});

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
