/**
 * Removes a folder the jail's host side made (its runtime folder: a few
 * files and sockets, one level of subfolder) without node's recursive rmSync,
 * whose first use loads and runs node's whole rimraf: a few ms of every
 * `bulkhead run`'s exit. Entries are unlinked, never followed: a symlink is
 * removed, not what it points to. Anything unexpected (a busy entry, a
 * deeper tree) falls back to rmSync.
 */
import { readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

export function removeTree(dir: string, depth = 0): void {
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && depth < 2) removeTree(path, depth + 1);
      else if (entry.isDirectory()) rmSync(path, { recursive: true, force: true });
      else unlinkSync(path);
    }
    rmdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && depth === 0) return;
    rmSync(dir, { recursive: true, force: true });
  }
}
