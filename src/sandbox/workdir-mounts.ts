/**
 * Mount points inside a folder. A filesystem mounted inside the workdir (a
 * bind mount, a volume, a share) is not the workdir: host tar would stream
 * its files into the jail (a bind mount of the same filesystem has the same
 * device number, so `--one-file-system` does not stop there), and the merge
 * at exit would write and delete through it. Only the kernel's mount table
 * says where they are, so it is read, not the files' device numbers.
 */
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { nameOf } from './byte-names.js';

/** mountinfo escapes space, tab, newline and backslash in paths as \ooo. */
function fromMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * Mount points strictly inside `dir` (a real path), as paths relative to it. Unreadable mount table:
 * undefined, which callers treat as unknown (and refuse).
 */
export function mountPointsInside(dir: string): string[] | undefined {
  let table: string;
  try {
    // Read as the merge reads names (byte-names.ts), so a mount point whose name is not UTF-8 is
    // the very string the merge compares with, not one with U+FFFD in it.
    table = nameOf(readFileSync('/proc/self/mountinfo'));
  } catch {
    return undefined;
  }
  const prefix = dir.endsWith(sep) ? dir : `${dir}${sep}`;
  const inside = new Set<string>();
  for (const line of table.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = fromMountinfo(field);
    if (point.startsWith(prefix)) inside.add(point.slice(prefix.length));
  }
  return [...inside].sort();
}

/** Whether `rel` is one of `points` or lies below one. */
export function atOrBelow(rel: string, points: readonly string[]): boolean {
  return points.some((point) => rel === point || rel.startsWith(`${point}/`));
}

/** Whether a mount point lies below the folder `rel` (removing that folder would reach into it). */
export function holdsMount(rel: string, points: readonly string[]): boolean {
  return points.some((point) => point.startsWith(`${rel}/`));
}

/**
 * The path a bind mount of `path` (a real path) shows as its root in a mount table
 * (/proc/self/mountinfo, field 4): its path from the root of its filesystem, whatever it is mounted
 * as. Undefined when the mount table cannot be read.
 */
export function pathInFilesystem(path: string): string | undefined {
  let table: string;
  try {
    table = nameOf(readFileSync('/proc/self/mountinfo'));
  } catch {
    return undefined;
  }
  let best: { point: string; root: string } | undefined;
  for (const line of table.split('\n')) {
    const fields = line.split(' ');
    if (fields[3] === undefined || fields[4] === undefined) continue;
    const point = fromMountinfo(fields[4]);
    const covers = point === '/' || path === point || path.startsWith(`${point}/`);
    // The longest mount point holding the path; of equal ones the last, which is on top.
    if (covers && (!best || point.length >= best.point.length))
      best = { point, root: fromMountinfo(fields[3]) };
  }
  if (!best) return undefined;
  const rest = best.point === '/' ? path : path.slice(best.point.length);
  return `${best.root.replace(/\/$/, '')}${rest}` || '/';
}
