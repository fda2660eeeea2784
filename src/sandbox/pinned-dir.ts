/**
 * Host-side file operations of the merge that no one else's path swap can redirect. A root
 * launcher merges into a workdir its owner (or anyone it lets write there) can change while the
 * merge runs: a folder checked to be a folder and then used by path can be swapped for a link to
 * /etc between the two, and root then writes, chowns or deletes there. So each folder on the way
 * is opened once, never following a link (O_NOFOLLOW on every component), and every later step
 * names its entry through that open folder (/proc/self/fd/N/name): the folder cannot change under
 * it, and the final name is never followed (created exclusively, renamed, unlinked, or opened with
 * O_NOFOLLOW before its mode or owner is set).
 */
import { closeSync, constants, openSync, type PathLike, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { nameOf, pathIn } from './byte-names.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface PinnedParent {
  /** An open handle on the folder holding `name`. */
  fd: number;
  name: string;
}

/**
 * The path of `name` inside an open folder, resolved through the handle, not the folder's path.
 * Names are as byte-names.ts keeps them: one that is not UTF-8 gives a path of bytes.
 */
export const inside = (fd: number, name: string): PathLike => pathIn(`/proc/self/fd/${fd}`, name);

/** Opens an entry that must be a real folder, never following a link at its name. */
export function openFolder(path: PathLike): number {
  return openSync(path, DIR_FLAGS);
}

/**
 * Opens the folder holding `rel` (relative to `root`, which the caller trusts), one component at
 * a time; throws when any of them is not a real folder now. The caller closes `fd`.
 */
export function pinParent(root: string, rel: string): PinnedParent {
  const parts = rel.split('/');
  let fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (const part of parts.slice(0, -1)) {
      const next = openFolder(inside(fd, part));
      closeSync(fd);
      fd = next;
    }
  } catch (error) {
    closeSync(fd);
    throw new Error(`a folder on the way to ${rel} is not a folder on the host`, { cause: error });
  }
  return { fd, name: parts[parts.length - 1] as string };
}

/** Removes `name` in an open folder and, when it is a real folder, all it holds; links are removed, never followed. */
export function removeInside(fd: number, name: string): void {
  const path = inside(fd, name);
  let folder: number;
  try {
    folder = openFolder(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    unlinkSync(path); // not a folder (ENOTDIR, or ELOOP for a link): the name itself goes
    return;
  }
  try {
    for (const child of readdirSync(inside(folder, ''), { encoding: 'buffer' }))
      removeInside(folder, nameOf(child));
  } finally {
    closeSync(folder);
  }
  rmdirSync(path);
}
