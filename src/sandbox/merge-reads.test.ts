/**
 * The merge's reads of the host workdir go through held folders, never a path. It decided a file
 * was unchanged by reading the host's copy by path: a workdir owner who swapped that file (or a
 * folder above it) for a link while root merged got root to read where the link pointed, and to
 * tell by what it wrote whether that file held the jail's bytes: an oracle on files the owner
 * cannot read. The host scan listed folders by path too. Here each swap is made right after the
 * merge first looks at the entry, and every file the merge opens, lists, stats, reads a link of or
 * writes is recorded where it really is.
 */
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { mergeWorkdir } from './merge.js';

const spy = vi.hoisted(() => ({
  on: false,
  seen: [] as string[],
  /** After the first lstat of this real path, `act` runs once. */
  at: '',
  act: (): void => undefined,
}));

vi.mock('node:fs', async (original) => {
  const real = await original<typeof import('node:fs')>();
  const where = (path: unknown, whole: boolean): string => {
    const text = String(path);
    try {
      return whole ? real.realpathSync(text) : join(real.realpathSync(dirname(text)), basename(text));
    } catch {
      return text;
    }
  };
  const record =
    <A extends unknown[], R>(call: (...args: A) => R, how: 'entry' | 'folder' | 'fd') =>
    (...args: A): R => {
      const before = spy.on && how !== 'fd' ? where(args[0], how === 'folder') : '';
      const result = call(...args);
      if (!spy.on) return result;
      const seen = how === 'fd' ? real.readlinkSync(`/proc/self/fd/${result}`) : before;
      spy.seen.push(seen);
      if (spy.at && seen === spy.at && call === (real.lstatSync as unknown)) {
        spy.at = '';
        spy.act();
      }
      return result;
    };
  return {
    ...real,
    openSync: record(real.openSync, 'fd'),
    readdirSync: record(real.readdirSync, 'folder'),
    lstatSync: record(real.lstatSync, 'entry'),
    statSync: record(real.statSync, 'entry'),
    readlinkSync: record(real.readlinkSync, 'entry'),
    mkdirSync: record(real.mkdirSync, 'entry'),
    renameSync: record(real.renameSync, 'entry'),
    unlinkSync: record(real.unlinkSync, 'entry'),
    rmdirSync: record(real.rmdirSync, 'entry'),
    symlinkSync: (target: fs.PathLike, path: fs.PathLike) => {
      if (spy.on) spy.seen.push(where(path, false));
      return real.symlinkSync(target, path);
    },
  };
});

const temp = (prefix: string) => fs.realpathSync(mkdtempSync(join(tmpdir(), prefix)));

/** A jail copy and a host workdir, and a folder outside both holding what the jail's copy holds. */
function setup(files: Record<string, [jail: string, host: string]>) {
  const base = temp('bulkhead-reads-');
  const outside = temp('bulkhead-reads-out-');
  const from = join(base, 'from');
  const to = join(base, 'to');
  for (const [rel, [jail, host]] of Object.entries(files)) {
    for (const [root, text] of [
      [from, jail],
      [to, host],
    ] as const) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
    writeFileSync(join(outside, basename(rel)), jail);
  }
  return { base, outside, from, to };
}

function mergeWithSwap(from: string, to: string, at: string, act: () => void) {
  Object.assign(spy, { on: true, seen: [], at, act });
  try {
    // Every file here is younger than the staging: sizes match, so each is compared byte by byte.
    return mergeWorkdir({ from, to, stagedAtMs: Date.now(), maxBytes: 1 << 20 });
  } finally {
    spy.on = false;
  }
}

describe('merge: the host side is read through held folders only', () => {
  it('does not read through a host file swapped for a link before it is compared', () => {
    const { base, outside, from, to } = setup({ x: ['guess!\n', 'other!\n'] });
    mergeWithSwap(from, to, join(to, 'x'), () => {
      fs.unlinkSync(join(to, 'x'));
      symlinkSync(join(outside, 'x'), join(to, 'x'));
    });
    expect(spy.seen.filter((p) => p.startsWith(outside))).toEqual([]);
    expect(spy.seen.every((p) => p.startsWith(`${base}/`) || p === base)).toBe(true);
    // Compared as changed: the jail's file replaces the link; what it pointed at is as it was.
    expect(fs.lstatSync(join(to, 'x')).isFile()).toBe(true);
    expect(readFileSync(join(to, 'x'), 'utf8')).toBe('guess!\n');
    expect(readFileSync(join(outside, 'x'), 'utf8')).toBe('guess!\n');
  });

  it('does not read through a host folder swapped for a link before a file in it is compared', () => {
    const { base, outside, from, to } = setup({ 'sub/y': ['guess!\n', 'other!\n'] });
    const report = mergeWithSwap(from, to, join(to, 'sub', 'y'), () => {
      fs.renameSync(join(to, 'sub'), join(to, 'subx'));
      symlinkSync(outside, join(to, 'sub'));
    });
    expect(spy.seen.filter((p) => p.startsWith(outside))).toEqual([]);
    expect(spy.seen.every((p) => p.startsWith(`${base}/`) || p === base)).toBe(true);
    expect(report.notes.map((n) => n.path)).toEqual(['sub/y']);
    expect(readFileSync(join(outside, 'y'), 'utf8')).toBe('guess!\n');
  });

  it('does not list a host folder swapped for a link while the host is scanned', () => {
    const { base, outside, from, to } = setup({ 'sub/y': ['guess!\n', 'other!\n'] });
    const report = mergeWithSwap(from, to, join(to, 'sub'), () => {
      fs.renameSync(join(to, 'sub'), join(to, 'subx'));
      symlinkSync(outside, join(to, 'sub'));
    });
    expect(spy.seen.filter((p) => p.startsWith(outside))).toEqual([]);
    expect(spy.seen.every((p) => p.startsWith(`${base}/`) || p === base)).toBe(true);
    expect(report.notes.map((n) => n.path)).toEqual(['sub/y']);
    expect(fs.readdirSync(outside)).toEqual(['y']);
  });
});
