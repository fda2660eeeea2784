/**
 * Paths of the workdir that a host's environment switcher runs or puts on PATH when the operator
 * enters the folder: direnv sources an allowed `.envrc` (allowed by its own content, not by what
 * it reaches) and runs what it names, `PATH_add bin` (or `layout node`, `node_modules/.bin`) puts a
 * folder first on PATH so a `bin/git` written there runs instead of git, `source_env` and `dotenv`
 * read other files; mise's `_.path` and `_.source` do the same. Each such path is steering for the
 * merge (steering.ts), like the paths a git configuration names (git-pointers.ts).
 */
import { posix } from 'node:path';
import { readHostText } from './git-pointers.js';
import type { Entry } from './merge-scan.js';
import { foldName } from './steering.js';

const ENVRC = new Set(['.envrc']);
const MISE = new Set(['mise.toml', '.mise.toml', 'mise.local.toml', '.mise.local.toml']);

/** Folded workdir paths the host's `.envrc` and mise files put on PATH, source or name, with why. */
export function envPointers(
  to: string,
  host: ReadonlyMap<string, Entry>,
  final: ReadonlyMap<string, Entry>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [rel, entry] of host) {
    const name = foldName(rel.slice(rel.lastIndexOf('/') + 1));
    if (entry.kind !== 'file' || (!ENVRC.has(name) && !MISE.has(name))) continue;
    const text = readHostText(to, rel);
    if (text === undefined) continue;
    const dir = posix.dirname(rel).replace(/^\.$/, '');
    const add = (path: string, always: boolean) => {
      const joined = posix.normalize(posix.join(dir, path));
      if (posix.isAbsolute(path) || joined === '.' || joined.startsWith('..')) return;
      if (always || host.has(joined) || final.has(joined))
        out.set(joined.split('/').map(foldName).join('/'), `named by ${rel}`);
    };
    const words = (line: string) => line.split(/[\s"'[\],=;|&()<>`]+/).filter((w) => w && !w.startsWith('$'));
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (trimmed.startsWith('#')) continue;
      // Folders put on PATH count even before they exist: the agent makes them.
      const onPath =
        /^(?:PATH_add|path_add\s+\S+)\s+(.*)$/.exec(trimmed) ?? /^_\.path\s*=\s*(.*)$/.exec(trimmed);
      if (onPath?.[1]) for (const word of words(onPath[1])) add(word, true);
      if (/^layout\s+node\b/.test(trimmed)) add('node_modules/.bin', true);
      for (const word of words(trimmed)) add(word, false);
    }
  }
  return out;
}
