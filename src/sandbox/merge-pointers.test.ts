/**
 * The jail's own steering links are held back and never reach the host, so where they point makes
 * nothing steering: counted (7a2bb73), thousands of links in `.claude` held back the thousands of ordinary files
 * they pointed at, and made as many steering paths, each compared with each path of the merge.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeWorkdir } from './merge.js';

describe('merge: steering links the agent made', () => {
  it('holds them back and carries the ordinary files they point at', () => {
    const base = mkdtempSync(join(tmpdir(), 'bulkhead-links-'));
    const from = join(base, 'from');
    const to = join(base, 'to');
    mkdirSync(join(from, '.claude'), { recursive: true });
    mkdirSync(join(from, 'notes'));
    mkdirSync(to);
    for (let i = 0; i < 5_000; i++) {
      writeFileSync(join(from, 'notes', `n${i}`), 'x');
      symlinkSync(`../notes/n${i}`, join(from, '.claude', `l${i}`));
    }
    const report = mergeWorkdir({ from, to, stagedAtMs: Date.now(), maxBytes: 1 << 30 });
    expect(report.notes.map((n) => n.path)).toEqual(['.claude']);
  }, 120_000);
});
