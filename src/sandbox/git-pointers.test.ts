/**
 * The host's global git configuration names steering paths in every repository of the workdir
 * (`core.hooksPath = .team-hooks` in ~/.gitconfig runs `.team-hooks/pre-commit` everywhere); a
 * root launcher reads it without following a link at its name, so a workdir owner cannot have root
 * parse a file only root may read and learn from what the merge held back.
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeWorkdir } from './merge.js';

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const home = process.env.HOME;
afterEach(() => {
  process.env.HOME = home;
});

function repoPair() {
  const base = temp('bulkhead-pointers-');
  const from = join(base, 'from');
  const to = join(base, 'to');
  for (const side of [from, to]) {
    mkdirSync(join(side, '.git', 'objects'), { recursive: true });
    mkdirSync(join(side, '.git', 'refs'));
    writeFileSync(join(side, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(side, '.git', 'config'), '[core]\n\tbare = false\n');
  }
  return { base, from, to };
}

const plant = (from: string, folder: string) => {
  mkdirSync(join(from, folder));
  writeFileSync(join(from, folder, 'pre-commit'), '#!/bin/sh\ntouch /tmp/pwned\n', { mode: 0o755 });
};

describe('merge: paths the global git configuration names', () => {
  it("holds back the hooks folder a relative core.hooksPath in the launcher's ~/.gitconfig names", () => {
    const { base, from, to } = repoPair();
    mkdirSync(join(base, 'home'));
    writeFileSync(join(base, 'home', '.gitconfig'), '[core]\n\thooksPath = .team-hooks\n');
    process.env.HOME = join(base, 'home');
    plant(from, '.team-hooks');
    const report = mergeWorkdir({ from, to, stagedAtMs: Date.now(), maxBytes: 1 << 20 });
    expect(existsSync(join(to, '.team-hooks', 'pre-commit'))).toBe(false);
    expect(report.notes.map((n) => n.path)).toContain('.team-hooks');
  });

  it('reads no global config through a link at its name', () => {
    const { base, from, to } = repoPair();
    mkdirSync(join(base, 'home'));
    writeFileSync(join(base, 'private'), '[core]\n\thooksPath = .linked-hooks\n', { mode: 0o600 });
    symlinkSync(join(base, 'private'), join(base, 'home', '.gitconfig'));
    process.env.HOME = join(base, 'home');
    plant(from, '.linked-hooks');
    mergeWorkdir({ from, to, stagedAtMs: Date.now(), maxBytes: 1 << 20 });
    expect(existsSync(join(to, '.linked-hooks', 'pre-commit'))).toBe(true);
  });
});
