/**
 * Folders of code the host runs without anyone reading it: what package managers install, what
 * build tools cache and reuse when it looks newer than the sources, Python's bytecode. They are
 * gitignored by convention (or, for `vendor`, skipped in review by convention), so no `git diff`
 * shows a change, and the next `npm test`, `npx`, `pytest`, `cargo test` or `php` run loads them:
 * a line appended to `node_modules/.bin/vitest`, a package's `main`, a `__pycache__/*.pyc` whose
 * header matches its source, a test binary in `target/`. Each is held back whole by the merge
 * (merge.ts), reported once at the folder, at any depth and in every spelling a case-insensitive
 * host reads as the name (steering.ts `foldName`). The operator installs or builds them on the
 * host from the reviewed manifests and lockfiles, or names one in `sandbox.carry_over`.
 */
import { foldName } from './steering.js';

const DEPENDENCY_DIRS = new Set(
  [
    // JavaScript: installed packages (their `.bin` scripts, `main`, lifecycle scripts), Yarn's
    // releases and plugins (`yarnPath` runs one), pnpm's store
    'node_modules',
    'bower_components',
    'jspm_packages',
    'web_modules',
    '.yarn',
    '.pnpm-store',
    // Go's, Composer's (`vendor/autoload.php`) and Bundler's (`vendor/bundle`) vendored code
    'vendor',
    // Python: bytecode run in place of its source, PEP 582 packages, tox/nox environments, eggs
    // setup.py loads, a virtual environment without its pyvenv.cfg
    '__pycache__',
    '__pypackages__',
    '.tox',
    '.nox',
    '.eggs',
    '.venv',
    // build outputs cargo, maven and sbt run when they look newer than the sources; Gradle's
    // project cache (configuration cache: the serialized task graph it runs)
    'target',
    '.gradle',
  ].map(foldName),
);

/** Compiled Python, loaded instead of a source beside it whose size and mtime its header names. */
const BYTECODE = /\.py[co]$/u;

/**
 * The dependency folder (or bytecode file) a relative `/`-separated path lies in or is, spelled as
 * in the path; undefined when there is none.
 */
export function dependencyRoot(relative: string): string | undefined {
  const parts = relative.split('/');
  for (let i = 0; i < parts.length; i++) {
    const name = foldName(parts[i] as string);
    if (DEPENDENCY_DIRS.has(name) || (i === parts.length - 1 && BYTECODE.test(name)))
      return parts.slice(0, i + 1).join('/');
  }
  return undefined;
}

/** Whether a name is a dependency folder's: a host link by that name leads the host's tools there. */
export function isDependencyName(name: string): boolean {
  return DEPENDENCY_DIRS.has(foldName(name));
}

/** Why a change to this path is held back as dependency code, or undefined. */
export function dependencyReason(relative: string): string | undefined {
  const root = dependencyRoot(relative);
  if (root === undefined) return undefined;
  return `dependency or build code ${root}: host tools run it, and no diff shows it`;
}
