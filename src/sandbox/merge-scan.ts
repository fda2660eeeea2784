/**
 * The merge's reading side (merge.ts writes): every entry of the jail's final workdir and of the
 * host's, never following a link, and what a link's target means. Names are read as bytes and kept
 * as strings that hold every byte (byte-names.ts), so a name that is not UTF-8 is looked up, compared
 * and written back as exactly the name it is.
 */
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { nameOf, pathIn } from './byte-names.js';
import { looksLikeGitDir } from './steering.js';

export type Kind = 'file' | 'dir' | 'symlink' | 'other';
export interface Entry {
  kind: Kind;
  mode: number;
  size: number;
  mtimeMs: number;
  /** Inode and link count: names of one inode are one copy, not one copy each. */
  ino: number;
  nlink: number;
  /** A link's target, as byte-names.ts keeps it. */
  target?: string;
}

function kindOf(stat: Stats): Kind {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Every entry under root, never following a link; folders on another filesystem are left out, as tar left them. */
export function scan(root: string, rootDev?: number): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (relative: string) => {
    for (const raw of readdirSync(pathIn(root, relative), { encoding: 'buffer' })) {
      const name = nameOf(raw);
      const rel = relative ? `${relative}/${name}` : name;
      const stat = lstatSync(pathIn(root, rel));
      if (rootDev !== undefined && stat.dev !== rootDev) continue;
      const kind = kindOf(stat);
      const entry: Entry = {
        kind,
        mode: stat.mode & 0o7777,
        size: stat.size,
        mtimeMs: stat.mtimeMs,
        ino: stat.ino,
        nlink: stat.nlink,
      };
      if (kind === 'symlink') entry.target = nameOf(readlinkSync(pathIn(root, rel), { encoding: 'buffer' }));
      out.set(rel, entry);
      if (kind === 'dir') walk(rel);
    }
  };
  walk('');
  return out;
}

export function gitDirsOf(entries: Map<string, Entry>): Set<string> {
  const children = new Map<string, Set<string>>();
  for (const rel of entries.keys()) {
    const cut = rel.lastIndexOf('/');
    const parent = cut < 0 ? '' : rel.slice(0, cut);
    const name = cut < 0 ? rel : rel.slice(cut + 1);
    const set = children.get(parent) ?? new Set<string>();
    children.set(parent, set);
    set.add(name);
  }
  return new Set([...children].filter(([, names]) => looksLikeGitDir(names)).map(([dir]) => dir));
}

/**
 * A link's target leaves the workdir when it is absolute or climbs above it, also through the
 * workdir's other links: `d/up -> ..` is inside, but `x -> d/up/../../etc` cancels `d/up` when
 * only read, and climbs two levels above the workdir when the kernel follows it. So each link met
 * on the way (`links`: the final tree's) is followed as the kernel would; a chain longer than the
 * kernel follows counts as outside.
 */
export function pointsOutside(
  relative: string,
  target: string,
  links: ReadonlyMap<string, string> = new Map(),
): boolean {
  if (posix.isAbsolute(target)) return true;
  const at = posix
    .dirname(relative)
    .split('/')
    .filter((part) => part !== '' && part !== '.');
  const pending = target.split('/');
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at.length === 0) return true;
      at.pop();
      continue;
    }
    at.push(part);
    const link = links.get(at.join('/'));
    if (link === undefined) continue;
    if (posix.isAbsolute(link) || ++hops > 40) return true;
    at.pop();
    pending.unshift(...link.split('/'));
  }
  return false;
}

export function sameContent(a: string, b: string, rel: string): boolean {
  const fa = openSync(pathIn(a, rel), 'r');
  const fb = openSync(pathIn(b, rel), 'r');
  try {
    const ba = Buffer.alloc(1 << 16);
    const bb = Buffer.alloc(1 << 16);
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null);
      const nb = readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
      if (na === 0) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}
