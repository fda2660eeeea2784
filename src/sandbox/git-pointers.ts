/**
 * Paths of the workdir that the host's git configuration runs or reads: no list of names can know
 * them. A repository whose config says `core.hooksPath = tools/hooks` runs `tools/hooks/pre-commit`
 * at the next commit; `[include] path = ../dev/git.cfg` makes that file part of its config (where
 * `core.fsmonitor` runs on every `git status`); a filter, textconv, diff or merge driver, alias or
 * fsmonitor naming `./scripts/clean.sh` runs that script on checkout, add or diff. Each such path is
 * steering for the merge (steering.ts): a change to it, or a link or file on the way to it, is held
 * back. The configuration read is the host's (what runs there next): each repository's own config
 * (and a worktree's, through its `.git` file), what it includes, and the launcher's, the workdir
 * owner's and the system's global configs, whose relative paths apply in every repository.
 *
 * Host files inside the workdir are read through held folders, never following a link (a root
 * launcher reads what the workdir's owner may swap); files outside it are the host's own.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { posix } from 'node:path';
import { isDependencyName } from './dependency-folders.js';
import { type Entry, resolveInside } from './merge-scan.js';
import { inside, pinParent } from './pinned-dir.js';
import { foldName, type SteeringContext, steeringReason } from './steering.js';

/** Keys whose value is a path git reads or runs from (relative to the worktree; include: to the file). */
const PATH_KEYS = [/^core\.hookspath$/, /^core\.attributesfile$/, /^core\.worktree$/];
const INCLUDE_KEYS = [/^include\.path$/, /^includeif\..+\.path$/];
/** Keys whose value is a command (run by a shell in the worktree): any word naming a workdir entry counts. */
const COMMAND_KEYS = [
  /^core\.(fsmonitor|sshcommand|editor|pager|askpass|gitproxy)$/,
  /^diff\.external$/,
  /^(diff|merge|filter|difftool|mergetool|pager|alias|hook|trailer|credential|gpg|browser|man|sendemail|sequence|interactive|uploadpack|remote)\./,
];

const MAX_CONFIG = 1 << 20;
const MAX_DEPTH = 10;

interface ConfigEntry {
  key: string;
  value: string;
}

/** Parses git's config syntax: sections, subsections, quoted values, escapes, continuations, comments. */
export function parseGitConfig(text: string): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  let section = '';
  const lines = text.replace(/\\\r?\n/g, '').split(/\r?\n/);
  for (let line of lines) {
    for (;;) {
      const header = /^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(line);
      if (!header) break;
      const [name = '', sub] = [header[1], header[2]];
      const dot = name.indexOf('.');
      section =
        sub !== undefined
          ? `${name.toLowerCase()}.${sub.replace(/\\(.)/g, '$1')}`
          : dot < 0
            ? name.toLowerCase()
            : `${name.slice(0, dot).toLowerCase()}.${name.slice(dot + 1)}`;
      line = line.slice(header[0].length);
    }
    const pair = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=(.*))?$/.exec(line);
    if (!pair || !section) continue;
    out.push({ key: `${section}.${(pair[1] ?? '').toLowerCase()}`, value: configValue(pair[2] ?? 'true') });
  }
  return out;
}

function configValue(raw: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && i + 1 < raw.length) {
      const n = raw[++i] as string;
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
    } else if (!quoted && (c === '#' || c === ';')) break;
    else out += c;
  }
  return out.trim();
}

/** A file's text: a workdir path (`rel`) read through held folders, else a host path. */
type Source = { rel: string } | { abs: string; uid?: number };

export interface PointerOptions {
  /** The host workdir, as given, and its real path (absolute paths in configs name it that way). */
  to: string;
  real: string;
  host: ReadonlyMap<string, Entry>;
  final: ReadonlyMap<string, Entry>;
  /** Folders git takes for a repository, in either tree. */
  gitDirs: ReadonlySet<string>;
  /** The workdir owner's uid, whose global config applies too. */
  ownerUid?: number;
}

/** Folded workdir paths the host's git configuration runs or reads, each with why. */
export function gitPointers(options: PointerOptions): Map<string, string> {
  const { to, real, host, final } = options;
  const pointed = new Map<string, string>();
  const hostLinks = linksOf(host);
  const finalLinks = linksOf(final);
  const asRel = (path: string, base: string): string | undefined => {
    if (path.startsWith('~')) return undefined;
    if (posix.isAbsolute(path))
      return path.startsWith(`${real}/`) ? posix.normalize(path.slice(real.length + 1)) : undefined;
    const joined = posix.normalize(posix.join(base, path));
    return joined === '.' || joined === '..' || joined.startsWith('../') ? undefined : joined;
  };
  const read = (source: Source): string | undefined =>
    'rel' in source ? readHostText(to, source.rel) : readOutside(source.abs, source.uid);
  const sourceAt = (path: string, base: { rel?: string; abs?: string; uid?: number }): Source | undefined => {
    if (base.rel !== undefined) {
      const rel = asRel(path, base.rel);
      return rel === undefined ? undefined : { rel };
    }
    const abs = posix.resolve(base.abs ?? '/', path.replace(/^~(?=\/)/, homedir()));
    return abs.startsWith(`${real}/`)
      ? { rel: abs.slice(real.length + 1) }
      : { abs, ...(base.uid === undefined ? {} : { uid: base.uid }) };
  };
  const protect = (rel: string, why: string) => {
    for (const path of [rel, resolveInside(rel, hostLinks), resolveInside(rel, finalLinks)])
      if (path) pointed.set(path.split('/').map(foldName).join('/'), why);
  };
  const exists = (rel: string) => host.has(rel) || final.has(rel);

  /** Every entry of a config file and of what it includes, with the folder its includes resolve from. */
  const entriesOf = (source: Source, depth: number): ConfigEntry[] => {
    const text = read(source);
    if (text === undefined || depth > MAX_DEPTH) return [];
    const base =
      'rel' in source
        ? { rel: posix.dirname(source.rel) }
        : { abs: posix.dirname(source.abs), ...(source.uid === undefined ? {} : { uid: source.uid }) };
    const out: ConfigEntry[] = [];
    for (const entry of parseGitConfig(text)) {
      out.push(entry);
      if (!INCLUDE_KEYS.some((k) => k.test(entry.key))) continue;
      const included = sourceAt(entry.value, base);
      if (!included) continue;
      if ('rel' in included) protect(included.rel, `a file the git configuration includes (${entry.key})`);
      out.push(...entriesOf(included, depth + 1));
    }
    return out;
  };

  const repos = repositories(options, asRel, read);
  // Global configs only matter to a repository; a workdir without one reads nothing outside it.
  if (repos.length === 0) return pointed;
  const globals = globalConfigs(options.ownerUid).flatMap((source) => entriesOf(source, 0));
  for (const { gitDir, worktree, configs } of repos) {
    const entries = [...globals, ...configs.flatMap((source) => entriesOf(source, 0))];
    for (const { key, value } of entries) {
      const why = `named by the git configuration (${key})`;
      if (PATH_KEYS.some((k) => k.test(key))) {
        const rel = asRel(value, key === 'core.worktree' ? (gitDir ?? worktree) : worktree);
        if (rel !== undefined && key !== 'core.worktree') protect(rel, why);
        continue;
      }
      if (!COMMAND_KEYS.some((k) => k.test(key))) continue;
      for (const word of value.split(/[\s;|&()<>`'"=]+/)) {
        const rel = asRel(word.replace(/^!/, ''), worktree);
        if (rel !== undefined && word.replace(/^!/, '') !== '' && exists(rel)) protect(rel, why);
      }
    }
  }
  return pointed;
}

/**
 * Where the host's steering links lead, folded, each with why (the jail's own steering links are
 * held back, so never reach the host; counting them would let an agent make this map as large as
 * it likes, each path of the merge compared with each entry): `.claude -> tools/claude` makes
 * Claude Code read `tools/claude/settings.json`, `CLAUDE.md -> docs/AI.md` its instructions, and
 * `.git/hooks/pre-commit -> ../../scripts/hook.sh` runs that script; the targets were carried over
 * as ordinary files.
 */
export function steeringTargets(
  trees: readonly ReadonlyMap<string, Entry>[],
  context: SteeringContext,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const tree of trees) {
    const links = linksOf(tree);
    for (const rel of links.keys()) {
      // A host link named for a dependency folder (`web/node_modules -> ../.cache/nm`) leads the
      // host's tools there; links inside one (`node_modules/app -> ../packages/app`, a workspace)
      // lead to reviewed sources, and pnpm makes thousands of them.
      if (!steeringReason(rel, context) && !isDependencyName(rel.slice(rel.lastIndexOf('/') + 1))) continue;
      const target = resolveInside(rel, links);
      if (target)
        out.set(target.split('/').map(foldName).join('/'), `what the steering link ${rel} points at`);
    }
  }
  return out;
}

interface Repository {
  gitDir?: string;
  /** Where its hooks, filters and commands run, relative to the workdir. */
  worktree: string;
  configs: Source[];
}

/** Each repository of the host workdir: its git folders and `.git` files (worktrees, submodules). */
function repositories(
  options: PointerOptions,
  asRel: (path: string, base: string) => string | undefined,
  read: (source: Source) => string | undefined,
): Repository[] {
  const out: Repository[] = [];
  for (const dir of options.gitDirs) {
    if (!options.host.has(dir) && dir !== '') continue;
    const name = dir.slice(dir.lastIndexOf('/') + 1);
    const worktree = foldName(name) === '.git' ? posix.dirname(dir).replace(/^\.$/, '') : dir;
    const config = { rel: dir ? `${dir}/config` : 'config' };
    const text = read(config) ?? '';
    const named = parseGitConfig(text).find((e) => e.key === 'core.worktree');
    const moved = named ? asRel(named.value, dir) : undefined;
    out.push({
      gitDir: dir,
      worktree: moved ?? worktree,
      configs: [config, { rel: `${dir}/config.worktree` }],
    });
  }
  for (const [rel, entry] of options.host) {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if (entry.kind !== 'file' || foldName(name) !== '.git') continue;
    const line = /^gitdir:\s*(.+?)\s*$/m.exec(read({ rel }) ?? '');
    if (!line?.[1]) continue;
    const worktree = posix.dirname(rel).replace(/^\.$/, '');
    const gitDir = posix.resolve(options.real, worktree, line[1]);
    const common = read(sourceOf(options.real, `${gitDir}/commondir`))?.trim();
    const commonDir = common ? posix.resolve(gitDir, common) : gitDir;
    out.push({
      worktree,
      configs: [
        sourceOf(options.real, `${commonDir}/config`),
        sourceOf(options.real, `${gitDir}/config.worktree`),
      ],
    });
  }
  return out;
}

const sourceOf = (real: string, abs: string): Source =>
  abs.startsWith(`${real}/`) ? { rel: abs.slice(real.length + 1) } : { abs };

/** The global and system configs git reads for the launcher and the workdir's owner. */
function globalConfigs(ownerUid: number | undefined): { abs: string; uid?: number }[] {
  const configs = (home: string, uid?: number) =>
    [`${home}/.gitconfig`, `${home}/.config/git/config`].map((abs) => ({
      abs,
      ...(uid === undefined ? {} : { uid }),
    }));
  const xdg = process.env.XDG_CONFIG_HOME;
  const out = [
    { abs: '/etc/gitconfig' },
    ...(xdg ? [{ abs: `${xdg}/git/config` }] : []),
    ...configs(homedir()),
  ];
  if (ownerUid === undefined) return out;
  const line = (readOutside('/etc/passwd') ?? '')
    .split('\n')
    .find((l) => l.split(':')[2] === String(ownerUid));
  const home = line?.split(':')[5];
  return home ? [...out, ...configs(home, ownerUid)] : out;
}

function linksOf(entries: ReadonlyMap<string, Entry>): Map<string, string> {
  const links = new Map<string, string>();
  for (const [rel, entry] of entries) if (entry.kind === 'symlink') links.set(rel, entry.target ?? '');
  return links;
}

/**
 * A host file outside the workdir: never through a link at its name, and only a regular file owned
 * by root or by the one whose config it is (a root launcher reads the workdir owner's
 * `~/.gitconfig`, which that owner could make a link to a file only root may read).
 */
function readOutside(path: string, uid?: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    const own = process.getuid?.() ?? 0;
    if (!stat.isFile() || stat.size > MAX_CONFIG || (stat.uid !== 0 && stat.uid !== own && stat.uid !== uid))
      return undefined;
    return readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A host file of the workdir, read through held folders and only when it is a regular file. */
export function readHostText(to: string, rel: string): string | undefined {
  let fd: number;
  try {
    const parent = pinParent(to, rel);
    try {
      fd = openSync(
        inside(parent.fd, parent.name),
        constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      );
    } finally {
      closeSync(parent.fd);
    }
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(MAX_CONFIG);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n)
      n = readSync(fd, buffer, length, buffer.length - length, null);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
