/**
 * The merge's reading side (merge.ts writes): every entry of the jail's final workdir and of the
 * host's, never following a link, and what a link's target means. Names are read as bytes and kept
 * as strings that hold every byte (byte-names.ts), so a name that is not UTF-8 is looked up, compared
 * and written back as exactly the name it is.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  type Stats,
} from 'node:fs';
import { posix } from 'node:path';
import { nameOf, pathIn } from './byte-names.js';
import { inside, openFolder, pinParent } from './pinned-dir.js';
import { looksLikeGitDir, looksLikeVenv } from './steering.js';

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

/**
 * How deep the merge looks. A jail can nest folders without end (each `mkdir a; cd a` costs an
 * inode, and a relative chdir knows no PATH_MAX): 20,000 levels overflowed the scan's stack and
 * failed the whole merge, and 2,000 took it 50 s (each write opens every folder on its way).
 */
export const MAX_DEPTH = 256;

/**
 * Every entry under root, never following a link; folders on another filesystem are left out, as tar
 * left them. Each folder is opened once, without following a link, and its entries are listed,
 * stated and read through that handle (pinned-dir.ts), never by a path: the host workdir can change
 * while the merge runs, and a folder swapped for a link after it was stated is then not opened at
 * all (it is kept, empty: nothing is written through it or deleted under it) rather than listed
 * where the link points. A folder MAX_DEPTH levels down is listed but not opened (its name goes to
 * `tooDeep`): nothing below it is carried over or deleted.
 */
export function scan(root: string, rootDev?: number, tooDeep?: Set<string>): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (folder: number, relative: string, depth: number) => {
    for (const raw of readdirSync(inside(folder, ''), { encoding: 'buffer' })) {
      const name = nameOf(raw);
      const rel = relative ? `${relative}/${name}` : name;
      const stat = lstatSync(inside(folder, name));
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
      if (kind === 'symlink')
        entry.target = nameOf(readlinkSync(inside(folder, name), { encoding: 'buffer' }));
      out.set(rel, entry);
      if (kind !== 'dir') continue;
      if (depth >= MAX_DEPTH) {
        tooDeep?.add(rel);
        continue;
      }
      let child: number;
      try {
        child = openFolder(inside(folder, name));
      } catch {
        continue; // no longer a folder: swapped since it was stated
      }
      try {
        const now = fstatSync(child);
        if (now.ino === stat.ino && now.dev === stat.dev) walk(child, rel, depth + 1);
      } finally {
        closeSync(child);
      }
    }
  };
  const top = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    walk(top, '', 1);
  } finally {
    closeSync(top);
  }
  return out;
}

/** The folders whose entries' names pass `test`. */
function foldersWhere(
  entries: Map<string, Entry>,
  test: (names: ReadonlySet<string>) => boolean,
): Set<string> {
  const children = new Map<string, Set<string>>();
  for (const rel of entries.keys()) {
    const cut = rel.lastIndexOf('/');
    const parent = cut < 0 ? '' : rel.slice(0, cut);
    const name = cut < 0 ? rel : rel.slice(cut + 1);
    const set = children.get(parent) ?? new Set<string>();
    children.set(parent, set);
    set.add(name);
  }
  return new Set([...children].filter(([, names]) => test(names)).map(([dir]) => dir));
}

export const gitDirsOf = (entries: Map<string, Entry>): Set<string> => foldersWhere(entries, looksLikeGitDir);
export const venvDirsOf = (entries: Map<string, Entry>): Set<string> => foldersWhere(entries, looksLikeVenv);

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
  return follow(at, target.split('/'), links) === undefined;
}

/** Where a workdir path leads once the tree's links on the way are followed (undefined: outside). */
export function resolveInside(relative: string, links: ReadonlyMap<string, string>): string | undefined {
  return follow([], relative.split('/'), links)?.join('/');
}

/** Walks `pending` from the folder `at` as the kernel would; undefined when it leaves the workdir. */
function follow(at: string[], pending: string[], links: ReadonlyMap<string, string>): string[] | undefined {
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at.length === 0) return undefined;
      at.pop();
      continue;
    }
    at.push(part);
    const link = links.get(at.join('/'));
    if (link === undefined) continue;
    if (posix.isAbsolute(link) || ++hops > 40) return undefined;
    at.pop();
    pending.unshift(...link.split('/'));
  }
  return at;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Whether the jail's file at `rel` holds what the host's does. The host's is opened through its
 * held parent folder, never following a link, and only when it is still the regular file the scan
 * saw (`hostIno`): a path read here followed whatever link was swapped in since, and what the merge
 * then wrote or left told the one who swapped it whether a file they cannot read (root's, when
 * root merges) held the jail's bytes. Anything else counts as changed. O_NONBLOCK: a fifo swapped in
 * is not waited on.
 */
export function sameContent(from: string, to: string, rel: string, hostIno: number): boolean {
  let parent: { fd: number; name: string };
  try {
    parent = pinParent(to, rel);
  } catch {
    return false;
  }
  let fb: number;
  try {
    fb = openSync(inside(parent.fd, parent.name), READ_FLAGS);
  } catch {
    return false;
  } finally {
    closeSync(parent.fd);
  }
  try {
    const stat = fstatSync(fb);
    if (!stat.isFile() || stat.ino !== hostIno) return false;
    const fa = openSync(pathIn(from, rel), READ_FLAGS);
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
    }
  } finally {
    closeSync(fb);
  }
}
