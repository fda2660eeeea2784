/**
 * A root launcher merges into a workdir someone else can change while it runs (its owner, when
 * root runs bulkhead on another user's checkout). The merge checked each folder on the way and
 * then wrote by path, so a folder swapped for a link between the check and the write got the
 * agent's files written (and chowned, chmodded) where the link pointed: a workdir owner racing
 * with a loop of renames got root to write into a root-owned folder. Here the swap is made at the
 * worst moment on purpose: right after the merge first looks at the folder for the write.
 */
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { mergeWorkdir } from './merge.js';
import { inside, pinParent, removeInside } from './pinned-dir.js';

const swap = vi.hoisted(() => ({ at: '', seen: 0, act: (): void => undefined }));

vi.mock('node:fs', async (original) => {
  const real = await original<typeof import('node:fs')>();
  // Every look at `<folder>/sub` on the host side: the scan's are the first two (it states the
  // folder, then opens it to list it), the write's the third.
  const watch =
    <A extends unknown[], R>(call: (...args: A) => R) =>
    (...args: A): R => {
      const result = call(...args);
      const path = String(args[0]);
      if (swap.at && path.endsWith('/sub') && !path.startsWith(`${swap.at}/from`)) {
        swap.seen += 1;
        if (swap.seen === 3) swap.act();
      }
      return result;
    };
  return { ...real, lstatSync: watch(real.lstatSync), openSync: watch(real.openSync) };
});

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

describe('merge: a folder swapped for a link while the merge writes', () => {
  it('writes, chmods and chowns nothing where the link points', () => {
    const base = temp('bulkhead-swap-');
    const from = join(base, 'from');
    const to = join(base, 'to');
    const target = temp('bulkhead-swap-target-');
    mkdirSync(join(from, 'sub'), { recursive: true });
    mkdirSync(join(to, 'sub'), { recursive: true });
    for (const n of [1, 2, 3]) writeFileSync(join(from, 'sub', `f${n}`), `agent ${n}\n`);
    Object.assign(swap, {
      at: base,
      seen: 0,
      act: () => {
        fs.renameSync(join(to, 'sub'), join(to, 'subx'));
        symlinkSync(target, join(to, 'sub'));
      },
    });
    try {
      mergeWorkdir({ from, to, stagedAtMs: Date.now(), maxBytes: 1 << 20 });
    } finally {
      swap.at = '';
    }
    expect(swap.seen).toBeGreaterThanOrEqual(3);
    expect(readdirSync(target)).toEqual([]);
  });
});

describe('pinned folders', () => {
  it('refuses a link on the way and removes a tree without following its links', () => {
    const root = temp('bulkhead-pin-');
    const outside = temp('bulkhead-pin-out-');
    writeFileSync(join(outside, 'keep'), 'x');
    mkdirSync(join(root, 'real', 'deep'), { recursive: true });
    writeFileSync(join(root, 'real', 'deep', 'f'), 'y');
    symlinkSync(outside, join(root, 'real', 'deep', 'out'));
    symlinkSync(outside, join(root, 'link'));
    expect(() => pinParent(root, 'link/keep')).toThrow(/not a folder/);
    const parent = pinParent(root, 'real');
    expect(inside(parent.fd, 'x')).toBe(`/proc/self/fd/${parent.fd}/x`);
    removeInside(parent.fd, parent.name);
    fs.closeSync(parent.fd);
    expect(readdirSync(root)).toEqual(['link']);
    expect(readdirSync(outside)).toEqual(['keep']);
  });
});
