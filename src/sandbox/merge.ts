/**
 * The merge at exit: the jail works on a copy of the workdir (a sized tmpfs
 * inside it); when it ends, its final state is compared with the host
 * workdir and the differences are applied there by the launcher, never by
 * the jail. What is carried over is decided by the final state alone:
 *
 * - changes under git metadata (`.git` at any depth, or any folder git would
 *   take for a repository) and to steering files (steering.ts) are held
 *   back and reported, unless the profile names them;
 * - symbolic links pointing outside the workdir, and special files (fifos,
 *   sockets, devices), are not carried over and are reported;
 * - files are written as new inodes (a temporary name, then rename), so a
 *   hard link or symbolic link on the host is replaced, never written
 *   through; no folder on the way may be a symbolic link on the host, and
 *   each is opened once (pinned-dir.ts), so swapping one for a link while
 *   the merge runs redirects nothing; the host side is read the same way
 *   (merge-scan.ts: its listing, and the comparison of a file that may be
 *   unchanged), so nothing outside the workdir is read either;
 * - what the merge copies is bounded by the jail's workdir size: a file the
 *   jail holds under several names arrives as one inode under those names,
 *   and a file larger than what is left (a sparse file: `truncate -s 10T`
 *   costs the tmpfs nothing, and copying it writes every zero to the host's
 *   disk) is not carried over and is reported;
 * - modes keep their permission bits only, and write for group or others
 *   only where the host's entry already gave it: a file the agent made
 *   world-writable would let any local user rewrite what the operator runs
 *   next (a build script, a hook), and a folder would let them plant files;
 *   a setuid or setgid file the
 *   agent made arrives without the bit, owned by the launcher (or, when the
 *   launcher is root, by the workdir's owner).
 *
 * Nothing in the jail runs while this reads its state: the merge starts
 * after every process of the jail has died, through a directory handle the
 * launcher took while the jail was alive.
 */

import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  type PathLike,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { bytesOf, pathIn, shownName } from './byte-names.js';
import { dependencyReason, dependencyRoot } from './dependency-folders.js';
import { envPointers } from './env-pointers.js';
import { gitPointers, steeringTargets } from './git-pointers.js';
import {
  type Entry,
  gitDirsOf,
  MAX_DEPTH,
  pointsOutside,
  sameContent,
  scan,
  venvDirsOf,
} from './merge-scan.js';
import { inside, openFolder, pinParent, removeInside } from './pinned-dir.js';
import { allowedByProfile, type SteeringContext, steeringReason } from './steering.js';
import { atOrBelow, holdsMount, mountPointsInside } from './workdir-mounts.js';

export type WorkdirNote =
  | { kind: 'held_back'; path: string; change: 'created' | 'modified' | 'deleted'; reason: string }
  | { kind: 'dropped'; path: string; reason: string };

export interface MergeReport {
  /** Paths created, changed or deleted on the host. */
  applied: number;
  /** What was not carried over, and why: the caller records these as audit events. */
  notes: WorkdirNote[];
}

export interface MergeOptions {
  /** The jail's final workdir, read through a held directory handle (e.g. /proc/self/fd/N). */
  from: string;
  /** The host workdir. */
  to: string;
  /** Steering paths the profile lets through. */
  allow?: readonly string[];
  /** Owner for what the merge writes (the workdir's owner when the launcher is root). */
  owner?: { uid: number; gid: number };
  /** When staging began: a file whose mtime is this recent is compared by content, not by time. */
  stagedAtMs: number;
  /**
   * At most this many bytes are copied to the host (the jail's workdir size): real files cannot
   * exceed it, as they had to fit in the jail's tmpfs; sparse ones can, by any amount.
   */
  maxBytes?: number;
}

const under = (rel: string, roots: Set<string>) => {
  for (let cut = rel.lastIndexOf('/'); cut > 0; cut = rel.lastIndexOf('/', cut - 1))
    if (roots.has(rel.slice(0, cut))) return true;
  return false;
};

export function mergeWorkdir(options: MergeOptions): MergeReport {
  const { from, to } = options;
  const tooDeep = new Set<string>();
  const final = scan(from, undefined, tooDeep);
  const host = scan(to, lstatSync(to).dev);
  const gitDirs = new Set([...gitDirsOf(final), ...gitDirsOf(host)]);
  const real = realpathSync(to);
  const pointed = gitPointers({
    to,
    real,
    host,
    final,
    gitDirs,
    ...(options.owner ? { ownerUid: options.owner.uid } : {}),
  });
  const venvs = new Set([...venvDirsOf(final), ...venvDirsOf(host)]);
  const context: SteeringContext = {
    gitDirs,
    venvs,
    pointed: new Map([
      ...pointed,
      ...envPointers(to, host, final),
      ...steeringTargets([host], { gitDirs, venvs, pointed }),
    ]),
  };
  const links = new Map<string, string>();
  for (const [rel, entry] of final) if (entry.kind === 'symlink') links.set(rel, entry.target ?? '');
  const guarded = (rel: string, folder: boolean) =>
    allowedByProfile(rel, options.allow ?? [], folder)
      ? undefined
      : (steeringReason(rel, context, folder) ?? dependencyReason(rel));
  const notes: WorkdirNote[] = [];
  // Reported as people read them: a byte that is not UTF-8 as \xNN (byte-names.ts).
  const note = (n: WorkdirNote) => notes.push({ ...n, path: shownName(n.path) });
  // A dependency folder is reported once, at the folder: `npm install` changes thousands of files.
  const heldRoots = new Set<string>();
  const holdBack = (rel: string, change: 'created' | 'modified' | 'deleted', reason: string) => {
    // Only where the folder is the reason: a repository or venv inside one keeps its own notes.
    const root = reason === dependencyReason(rel) ? (dependencyRoot(rel) ?? rel) : rel;
    if (heldRoots.has(root)) return;
    heldRoots.add(root);
    if (root !== rel)
      change = change === 'deleted' && !final.has(root) ? 'deleted' : host.has(root) ? 'modified' : 'created';
    note({ kind: 'held_back', path: root, change, reason });
  };
  for (const rel of tooDeep)
    note({ kind: 'dropped', path: rel, reason: `what it holds is more than ${MAX_DEPTH} folders deep` });
  const settled = new Set<string>(); // subtrees already decided as a whole
  let applied = 0;
  let bytesLeft = options.maxBytes ?? Number.POSITIVE_INFINITY;
  let namesLeft = Math.floor(bytesLeft / NAME_BYTES);
  let overBudget = 0;
  // A final inode already written to the host, by the first of its names written: the others are
  // linked to it there, so ten names of one 100 MB file are 100 MB on the host, not 1 GB.
  const written = new Map<number, string>();
  // A jail never starts on a workdir holding a mount point (workdir-guard.ts), but one mounted
  // while it ran is not the workdir either: nothing is written into it or deleted through it.
  // Same device numbers do not tell a bind mount of the same filesystem; the mount table does.
  const mounts = mountPointsInside(real) ?? [];
  const acrossMount = (rel: string, h: Entry | undefined, f: Entry | undefined): boolean =>
    atOrBelow(rel, mounts) || (h?.kind === 'dir' && f?.kind !== 'dir' && holdsMount(rel, mounts));

  const unchanged = (rel: string, f: Entry, h: Entry | undefined): boolean => {
    if (!h || h.kind !== f.kind) return false;
    if (f.kind === 'symlink') return f.target === h.target;
    if (f.kind !== 'file') return true;
    if (f.size !== h.size || carriedMode(f, h) !== (h.mode & 0o777)) return false;
    // tar keeps whole seconds; a file touched around the staging is compared byte by byte.
    const oldEnough = h.mtimeMs < options.stagedAtMs - 2000;
    if (oldEnough && Math.floor(f.mtimeMs / 1000) === Math.floor(h.mtimeMs / 1000)) return true;
    return sameContent(from, to, rel, h.ino);
  };

  for (const rel of [...final.keys()].sort()) {
    if (under(rel, settled)) continue;
    const f = final.get(rel) as Entry;
    const h = host.get(rel);
    if (acrossMount(rel, h, f)) {
      // Unchanged (the mount point itself, usually): its entries are looked at one by one.
      if (unchanged(rel, f, h)) continue;
      note({ kind: 'dropped', path: rel, reason: 'on a filesystem mounted inside the workdir' });
      settled.add(rel);
      continue;
    }
    if (unchanged(rel, f, h)) continue;
    const reason =
      guarded(rel, f.kind === 'dir') ??
      (h?.kind === 'dir'
        ? [...host.keys()]
            .filter((k) => k.startsWith(`${rel}/`))
            .map((k) => guarded(k, host.get(k)?.kind === 'dir'))
            .find(Boolean)
        : undefined);
    if (reason) {
      holdBack(rel, h ? 'modified' : 'created', reason);
      settled.add(rel);
      continue;
    }
    if (f.kind === 'other') {
      note({ kind: 'dropped', path: rel, reason: 'a special file (fifo, socket or device)' });
      continue;
    }
    if (f.kind === 'symlink' && pointsOutside(rel, f.target ?? '', links)) {
      note({
        kind: 'dropped',
        path: rel,
        reason: `a symbolic link to ${shownName(f.target ?? '')}, outside the workdir`,
      });
      settled.add(rel);
      continue;
    }
    const sibling = f.kind === 'file' && f.nlink > 1 ? written.get(f.ino) : undefined;
    // A file's bytes cost the jail's tmpfs its pages, and are bounded by them; a folder, a link,
    // an empty file or another name of a file cost it none, but the host an inode and, for a
    // folder, a block: a jail of 1 MiB made 40,000 empty folders, 158 MB on the host. Those are
    // counted apart, one name per 4 KiB of the workdir size, so the host gets at most twice it.
    const bytes = f.kind === 'file' && sibling === undefined ? f.size : 0;
    const name = bytes === 0 ? 1 : 0;
    if (bytes > bytesLeft || name > namesLeft) {
      overBudget++;
      if (overBudget <= MAX_BUDGET_NOTES)
        note({
          kind: 'dropped',
          path: rel,
          reason:
            bytes > 0
              ? `${bytes} bytes, more than the ${bytesLeft} left of the workdir size (${options.maxBytes}) to copy back`
              : `past the ${Math.floor((options.maxBytes ?? 0) / NAME_BYTES)} folders, links and empty files the workdir size (${options.maxBytes}) lets through, one per ${NAME_BYTES} bytes`,
        });
      settled.add(rel);
      continue;
    }
    try {
      write(rel, f, h, sibling);
      bytesLeft -= bytes;
      namesLeft -= name;
      if (f.kind === 'file' && sibling === undefined && f.nlink > 1) written.set(f.ino, rel);
      applied++;
    } catch (error) {
      note({ kind: 'dropped', path: rel, reason: `could not be written: ${(error as Error).message}` });
      settled.add(rel);
    }
  }

  if (overBudget > MAX_BUDGET_NOTES)
    note({
      kind: 'dropped',
      path: '',
      reason: `${overBudget - MAX_BUDGET_NOTES} more entries (and what they hold) past the workdir size, not listed`,
    });

  for (const rel of [...host.keys()].sort().reverse()) {
    if (final.has(rel) || under(rel, settled)) continue;
    const h = host.get(rel) as Entry;
    if (h.kind === 'other') continue; // sockets were never staged
    if (acrossMount(rel, h, undefined)) {
      note({ kind: 'dropped', path: rel, reason: 'on a filesystem mounted inside the workdir' });
      continue;
    }
    const reason = guarded(rel, h.kind === 'dir');
    if (reason) {
      holdBack(rel, 'deleted', reason);
      continue;
    }
    try {
      const parent = pinParent(to, rel);
      try {
        if (h.kind === 'dir') rmdirSync(inside(parent.fd, parent.name));
        else unlinkSync(inside(parent.fd, parent.name));
      } finally {
        closeSync(parent.fd);
      }
      applied++;
    } catch {
      // A folder that keeps a held-back entry stays, with it; so does a name behind a swapped folder.
    }
  }
  return { applied, notes };

  function write(rel: string, f: Entry, h: Entry | undefined, sibling: string | undefined): void {
    const parent = pinParent(to, rel);
    try {
      const dest = inside(parent.fd, parent.name);
      if (h && h.kind !== f.kind) removeInside(parent.fd, parent.name);
      const mode = carriedMode(f, h);
      if (f.kind === 'dir') {
        if (h?.kind !== 'dir') mkdirSync(dest, { mode: 0o700 });
        const folder = openFolder(dest);
        try {
          fchmodSync(folder, mode | 0o700);
          if (options.owner) fchownSync(folder, options.owner.uid, options.owner.gid);
        } finally {
          closeSync(folder);
        }
        return;
      }
      const temp = inside(parent.fd, tempName());
      if (f.kind === 'symlink') {
        symlinkSync(bytesOf(f.target ?? ''), temp);
        // No handle on a link to chown through: lchown never follows it, and a hard link to
        // another's file swapped in under the random temp name is what protected_hardlinks refuses.
        if (options.owner) lchownSync(temp, options.owner.uid, options.owner.gid);
      } else if (sibling !== undefined) {
        // link(2) never follows a link at the old name; the sibling is this merge's own new inode.
        const other = pinParent(to, sibling);
        try {
          linkSync(inside(other.fd, other.name), temp);
        } finally {
          closeSync(other.fd);
        }
      } else copyInto(pathIn(from, rel), temp, mode);
      renameSync(temp, dest);
    } finally {
      closeSync(parent.fd);
    }
  }

  /** A new inode at `temp` (created exclusively, so never a link's target), its mode and owner set through its handle. */
  function copyInto(source: PathLike, temp: PathLike, mode: number): void {
    const out = openSync(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      const input = openSync(source, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const buffer = Buffer.allocUnsafe(1 << 20);
        for (let read = readSync(input, buffer); read > 0; read = readSync(input, buffer))
          for (let done = 0; done < read; ) done += writeSync(out, buffer, done, read - done);
      } finally {
        closeSync(input);
      }
      fchmodSync(out, mode);
      if (options.owner) fchownSync(out, options.owner.uid, options.owner.gid);
    } finally {
      closeSync(out);
    }
  }
}

/** The permission bits the host gets: no group or other write the host's entry did not have. */
function carriedMode(f: Entry, h: Entry | undefined): number {
  const granted = h?.kind === f.kind ? h.mode & 0o022 : 0;
  return (f.mode & 0o755) | (f.mode & granted);
}

/** What a name the tmpfs holds for free costs the host: an inode, and a block for a folder (ext4's is 4 KiB). */
const NAME_BYTES = 4096;
/** Past this many, entries dropped for the budget are counted in one note, not one each. */
const MAX_BUDGET_NOTES = 100;

let merged = 0;
/**
 * A name no other merge in this process uses. Not from node:crypto: loading it was ~5 ms of every
 * `bulkhead run`, and nothing depends on the name being unguessable: the jail is gone by now, and a
 * name that already exists makes the exclusive create fail (COPYFILE_EXCL, symlink), never followed.
 */
function tempName(): string {
  merged += 1;
  return `.bulkhead-merge-${process.pid}-${merged}-${Math.random().toString(36).slice(2, 10)}`;
}
