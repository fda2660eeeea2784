/**
 * What in a workdir steers code that runs later on the host: git's control
 * files (hooks, config with `core.fsmonitor`, `core.hooksPath`, aliases,
 * `commondir` pointers), and files that agents, editors, shells and package
 * managers read and act on when a person or a tool opens the folder.
 *
 * The jail's writes reach the host workdir only through the merge at exit
 * (merge.ts); a change to any path this module names is held back there and
 * reported, whatever route the agent took to make it (renaming a parent,
 * `cp -a` back, a bare repository written at any depth). A path is judged by
 * the final state, never by how it got there.
 */

/** A folder by any of these names is git metadata, at any depth (nested repositories, submodules). */
const GIT_NAMES = new Set(['.git']);

/** Folders whose files agents, editors, CI and hook managers act on. */
const STEERING_DIRS = new Set([
  '.claude',
  '.cursor',
  '.vscode',
  '.idea',
  '.devcontainer',
  '.github',
  '.gitlab',
  '.husky',
  '.githooks',
  '.direnv',
  '.continue',
  '.aider',
  // agent CLIs whose project settings start MCP servers or hooks (commands) when run here
  '.gemini',
  '.codex',
  '.opencode',
  '.kiro',
  '.windsurf',
  '.roo',
  '.amazonq',
  // editors that start the language servers or tasks a project's settings name
  '.zed',
  '.helix',
  // mise runs a trusted folder's hooks and env scripts on cd; trust is by path, not content
  '.mise',
  // other version control systems: their repository config runs hooks, pagers and diff tools
  '.hg',
  '.jj',
  '.sl',
  '.bzr',
  // CI that runs on the operator's next push, with the repository's secrets
  '.circleci',
  '.buildkite',
  '.woodpecker',
  // build tools' project config: maven's wrapper, jvm.config and extensions.xml (jars it loads),
  // cargo's `build.rustc-wrapper`, `runner` and aliases, Bundler's BUNDLE_PATH and gemfile
  '.mvn',
  '.cargo',
  '.bundle',
  // IDEs that run a project's run configurations, tasks or toolchains when it is opened
  '.fleet',
  '.vs',
  '.theia',
]);

/** Files that steer shells, direnv, package managers, git and agents, at any depth. */
const STEERING_FILES = new Set([
  '.mcp.json',
  '.envrc',
  '.env',
  '.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  '.pnpmfile.cjs',
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.bash_logout',
  '.profile',
  '.zshrc',
  '.zshenv',
  '.zprofile',
  '.zlogin',
  '.gitmodules',
  '.gitattributes',
  '.gitconfig',
  '.lfsconfig',
  '.tool-versions',
  '.cursorrules',
  '.windsurfrules',
  '.aider.conf.yml',
  'CLAUDE.md',
  'CLAUDE.local.md',
  'AGENTS.md',
  'GEMINI.md',
  '.clinerules',
  '.roomodes',
  'opencode.json',
  'opencode.jsonc',
  // git hook managers: the installed hook runs the commands these name at the next commit
  '.pre-commit-config.yaml',
  'lefthook.yml',
  'lefthook.yaml',
  '.lefthook.yml',
  '.lefthook.yaml',
  'lefthook-local.yml',
  '.lefthook-local.yml',
  '.overcommit.yml',
  '.simple-git-hooks.json',
  '.simple-git-hooks.js',
  '.simple-git-hooks.cjs',
  // mise: see .mise above
  'mise.toml',
  '.mise.toml',
  'mise.local.toml',
  '.mise.local.toml',
  // nix shells that direnv's `use flake` / `use nix` and devenv evaluate on entering the folder
  // (a shellHook is shell code)
  'flake.nix',
  'flake.lock',
  'shell.nix',
  'default.nix',
  'devenv.nix',
  'devenv.yaml',
  'devbox.json',
  // editors that run a project's startup file when it is trusted
  '.exrc',
  '.nvim.lua',
  '.nvimrc',
  '.dir-locals.el',
  '.dir-locals-2.el',
  '.vimrc',
  '.gvimrc',
  '.continuerc.json',
  // sourced by RVM on cd
  '.rvmrc',
  // read from the folder they start in by R, irb, pry, pdb, gdb, lldb and Octave
  '.Rprofile',
  '.Renviron',
  '.irbrc',
  '.pryrc',
  '.pdbrc',
  '.gdbinit',
  '.lldbinit',
  '.octaverc',
  // CI definitions outside the folders above
  '.gitlab-ci.yml',
  '.travis.yml',
  '.drone.yml',
  'Jenkinsfile',
  'azure-pipelines.yml',
  'bitbucket-pipelines.yml',
  // build wrappers: the script runs, and its properties name the distribution it downloads and runs
  'gradlew',
  'gradlew.bat',
  'gradle-wrapper.jar',
  'gradle-wrapper.properties',
  'mvnw',
  'mvnw.cmd',
  'maven-wrapper.jar',
  'maven-wrapper.properties',
  // Yarn Plug'n'Play: node loads these before any package
  '.pnp.cjs',
  '.pnp.js',
  '.pnp.loader.mjs',
  '.pnp.data.json',
  // read on entering the folder by version switchers, which resolve (or install) what they name
  // (pyenv ran a `.python-version` of `../../tmp/x` as a path: CVE-2022-35861)
  '.python-version',
  '.ruby-version',
  '.node-version',
  '.nvmrc',
  '.java-version',
  '.sdkmanrc',
]);

/** Endings of steering files any name may carry: a VS Code workspace's tasks and settings run on opening it. */
const STEERING_SUFFIXES = ['.code-workspace'];

/** Names git reads in a repository folder: planted beside HEAD, they make that folder a repository. */
const GIT_DIR_NAMES = new Set([
  'HEAD',
  'config',
  'commondir',
  'gitdir',
  'objects',
  'refs',
  'hooks',
  'info',
  'packed-refs',
  'index',
  'worktrees',
  'modules',
  'logs',
  'branches',
  'description',
  'FETCH_HEAD',
  'ORIG_HEAD',
  'config.worktree',
]);

/**
 * A name as a case-insensitive or normalising host filesystem looks it up (WSL's /mnt/c, a macOS
 * folder bind-mounted into a VM, vfat and exfat, ext4 casefold, SMB): `.GIT`, `.Envrc`, `.vſcode`
 * (a long s folds to s), fullwidth `．ｇｉｔ`, `.npmrc.` and `.envrc ` (trailing dots and spaces are
 * dropped by Windows' and vfat's lookups) and names with zero-width characters (ignored by HFS+)
 * all open the steering file they imitate there, and git on such a host finds `.GIT` as its `.git`.
 * Steering names are compared in this form, so every spelling of one is held back everywhere.
 */
export function foldName(name: string): string {
  return name
    .normalize('NFKC')
    .replace(/[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/gu, '')
    .toUpperCase()
    .toLowerCase()
    .replace(/(?<=.)[. ]+$/u, '');
}

const folded = (names: Iterable<string>) => new Set([...names].map(foldName));
const GIT = folded(GIT_NAMES);
const DIRS = folded(STEERING_DIRS);
const FILES = folded(STEERING_FILES);
const GIT_DIR = folded(GIT_DIR_NAMES);
/** A folder holding this file is a Python virtual environment (see `venvDirs` below). */
const VENV_MARK = 'pyvenv.cfg';

/**
 * What git needs to take a folder for a repository by itself (a bare one, or a
 * `.git` moved under another name): `HEAD` beside `objects` and `refs`, or a
 * `commondir` file pointing at one. Such a folder anywhere in the workdir is
 * held back whole, since git run inside it would honour its config.
 */
export function looksLikeGitDir(names: ReadonlySet<string>): boolean {
  const has = (name: string) => [...names].some((n) => foldName(n) === foldName(name));
  return has('commondir') || (has('HEAD') && (has('objects') || has('refs')));
}

/**
 * Whether a folder is a Python virtual environment: editors start its interpreter when the folder is
 * opened (to learn its version and packages), and that interpreter runs every `.pth` file in its
 * site-packages and takes its standard library from where `pyvenv.cfg` says. Held back whole.
 */
export function looksLikeVenv(names: ReadonlySet<string>): boolean {
  return [...names].some((n) => foldName(n) === VENV_MARK);
}

/** What, besides names, makes a path steering: the folders and paths found in both trees. */
export interface SteeringContext {
  /** Folders git takes for a repository. */
  gitDirs: ReadonlySet<string>;
  /** Python virtual environments. */
  venvs?: ReadonlySet<string>;
  /** Paths the host's git configuration runs or reads (git-pointers.ts), folded, with why. */
  pointed?: ReadonlyMap<string, string>;
}

/**
 * Why a path (relative, `/`-separated) steers later code, or undefined when it does not. `folder`:
 * the path is a real folder in the final tree (one on the way to a path the git configuration names
 * may be made; a link or file there would move what the configuration reaches).
 */
export function steeringReason(
  relative: string,
  context: SteeringContext | ReadonlySet<string>,
  folder = false,
): string | undefined {
  const { gitDirs, venvs, pointed } = 'gitDirs' in context ? context : { gitDirs: context };
  const parts = relative.split('/');
  const names = parts.map(foldName);
  for (let i = 0; i < parts.length; i++) {
    const name = names[i] as string;
    const above = parts.slice(0, i).join('/');
    if (GIT.has(name)) return 'git metadata';
    if (gitDirs.has(above) && GIT_DIR.has(name))
      return i === 0 ? 'git metadata (the workdir made a repository)' : 'git metadata (a repository folder)';
    if (venvs?.has(above)) return 'a Python virtual environment';
    if (i < parts.length - 1 && DIRS.has(name)) return `steering folder ${parts[i]}`;
    if (
      i === parts.length - 1 &&
      (DIRS.has(name) ||
        FILES.has(name) ||
        name === VENV_MARK ||
        STEERING_SUFFIXES.some((s) => name.endsWith(s)))
    )
      return `steering file ${parts[i]}`;
  }
  if (!pointed) return undefined;
  const key = names.join('/');
  for (const [path, why] of pointed) {
    if (key === path || key.startsWith(`${path}/`)) return why;
    if (!folder && path.startsWith(`${key}/`)) return `on the way to ${path}: ${why}`;
  }
  return undefined;
}

/**
 * Whether the profile lets changes to this path through: an exact path, a folder and what is in
 * it, or a folder on the way to one (created so the named path can be). Only a real folder is let
 * through on the way: a link there (`.claude -> notes`, with `.claude/commands` named) would carry
 * every steering file under it, `notes/settings.json` read on the host as `.claude/settings.json`.
 */
export function allowedByProfile(relative: string, allow: readonly string[], folder: boolean): boolean {
  return allow.some((entry) => {
    const clean = entry.replace(/^\.\//, '').replace(/\/+$/, '');
    if (relative === clean || relative.startsWith(`${clean}/`)) return true;
    return folder && clean.startsWith(`${relative}/`);
  });
}
