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
  // CI that runs on the operator's next push, with the repository's secrets
  '.circleci',
  '.buildkite',
  '.woodpecker',
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
  // editors that run a project's startup file when it is trusted
  '.exrc',
  '.nvim.lua',
  '.nvimrc',
  '.dir-locals.el',
  // CI definitions outside the folders above
  '.gitlab-ci.yml',
  '.travis.yml',
  '.drone.yml',
  'Jenkinsfile',
  'azure-pipelines.yml',
  'bitbucket-pipelines.yml',
]);

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
 * What git needs to take a folder for a repository by itself (a bare one, or a
 * `.git` moved under another name): `HEAD` beside `objects` and `refs`, or a
 * `commondir` file pointing at one. Such a folder anywhere in the workdir is
 * held back whole, since git run inside it would honour its config.
 */
export function looksLikeGitDir(names: ReadonlySet<string>): boolean {
  return names.has('commondir') || (names.has('HEAD') && (names.has('objects') || names.has('refs')));
}

/** Why a path (relative, `/`-separated) steers later code, or undefined when it does not. */
export function steeringReason(relative: string, gitDirs: ReadonlySet<string>): string | undefined {
  const parts = relative.split('/');
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i] as string;
    if (GIT_NAMES.has(name)) return 'git metadata';
    if (gitDirs.has(parts.slice(0, i).join('/')) && GIT_DIR_NAMES.has(name))
      return i === 0 ? 'git metadata (the workdir made a repository)' : 'git metadata (a repository folder)';
    if (i < parts.length - 1 && STEERING_DIRS.has(name)) return `steering folder ${name}`;
    if (i === parts.length - 1 && (STEERING_DIRS.has(name) || STEERING_FILES.has(name)))
      return `steering file ${name}`;
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
