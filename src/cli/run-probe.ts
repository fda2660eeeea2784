/**
 * The jail probe of `bulkhead run`, remembered. Before a run is created the
 * CLI checks that a jail can be built here (setpriv and bwrap with the
 * jail's namespaces, running `true`: src/sandbox/launch.ts), so that a host
 * without one gets no run. That probe is four processes and ~15 ms of CPU
 * on every jailed start, for an answer that changes only when the host
 * does.
 *
 * So a success is remembered, under a key of everything the answer depends
 * on that can be read without running anything: the kernel's boot id, the
 * user namespace sysctls, the launcher's uid, and the bwrap (and, for a root
 * launcher, setpriv) that PATH finds, by inode, size and mtime. A changed
 * key, an entry older than MAX_AGE_MS (for what no key sees: an AppArmor
 * profile loaded since), or an entry this user did not write alone, means
 * the probe runs again. Failures are never remembered.
 *
 * Nothing here weakens the jail: `startJail` still fails closed when it
 * cannot build one. A stale entry only means a run is created that the jail
 * then cannot start; `bulkhead run` ends that run at once and forgets the
 * entry (see run.ts).
 *
 * The entry lives beside the policy cache in the gateway home
 * (~/.bulkhead/cache, 0700/0600, owner checked), which no jail may use as a
 * workdir.
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { bulkheadHome } from '../gateway/local-home.js';

/** An entry older than this is not trusted: AppArmor profiles and seccomp policies have no key here. */
export const MAX_AGE_MS = 10 * 60_000;

const FILE = 'jail-probe.json';

/** The sysctls that decide whether an unprivileged user may create user namespaces. */
const SYSCTLS = [
  '/proc/sys/kernel/random/boot_id',
  '/proc/sys/user/max_user_namespaces',
  '/proc/sys/kernel/unprivileged_userns_clone',
  '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
];

export interface ProbeCacheOptions {
  /** Defaults to the gateway home's `cache` folder. */
  cacheDir?: string;
  /** Defaults to process.env.PATH. */
  path?: string;
  /** Defaults to the launcher's uid. */
  uid?: number;
  now?: number;
}

export type ProbeOutcome = 'remembered' | 'probed';

/**
 * Resolves when a jail can be built here, from a remembered success or by probing (and then
 * remembering it); rejects with `sandbox_unavailable` naming what is missing, as the probe does.
 */
export async function checkSandboxSupportRemembered(
  options: ProbeCacheOptions = {},
  probe: () => Promise<void> = probeNow,
): Promise<ProbeOutcome> {
  const key = probeKey(options);
  const file = join(options.cacheDir ?? join(bulkheadHome(), 'cache'), FILE);
  const now = options.now ?? Date.now();
  if (key !== undefined && remembered(file, key, now, options.uid)) return 'remembered';
  await probe();
  if (key !== undefined) remember(file, key, now);
  return 'probed';
}

/** The probe itself, from the jail's module: loaded only when nothing is remembered. */
async function probeNow(): Promise<void> {
  const { checkSandboxSupportSoon } = await import('../sandbox/jail.js');
  return checkSandboxSupportSoon();
}

/** Drops the remembered success: the jail could not be built after all. */
export function forgetSandboxProbe(options: Pick<ProbeCacheOptions, 'cacheDir'> = {}): void {
  try {
    rmSync(join(options.cacheDir ?? join(bulkheadHome(), 'cache'), FILE), { force: true });
  } catch {
    // Nothing to forget, or a home we cannot write: the next run probes or fails closed again.
  }
}

/** What the probe's answer depends on, as one string; undefined when bwrap or setpriv is not found. */
export function probeKey(options: ProbeCacheOptions = {}): string | undefined {
  const uid = options.uid ?? process.getuid?.() ?? -1;
  const tools = uid === 0 ? ['bwrap', 'setpriv'] : ['bwrap'];
  const parts = [`uid ${uid}`];
  for (const tool of tools) {
    const found = which(tool, options.path ?? process.env.PATH ?? '');
    if (!found) return undefined;
    parts.push(found);
  }
  for (const file of SYSCTLS) parts.push(`${file} ${readOr(file, '-').trim()}`);
  return parts.join('\n');
}

/** The first executable file named `name` on PATH, with what identifies its version. */
function which(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!isAbsolute(dir)) continue; // a relative PATH entry depends on the folder the CLI starts in
    const candidate = join(dir, name);
    try {
      const stat = statSync(candidate);
      if (stat.isFile() && (stat.mode & 0o111) !== 0)
        return `${candidate} ${stat.dev}:${stat.ino} ${stat.size} ${stat.mtimeMs} ${stat.mode}`;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function remembered(file: string, key: string, now: number, uid: number | undefined): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const stat = fstatSync(fd);
    // Only an entry this user wrote and nobody else may change.
    if (stat.uid !== (uid ?? process.getuid?.()) || (stat.mode & 0o022) !== 0) return false;
    const entry = JSON.parse(readFileSync(fd, 'utf8')) as { key?: unknown; at?: unknown };
    return (
      entry.key === key && typeof entry.at === 'number' && now - entry.at >= 0 && now - entry.at < MAX_AGE_MS
    );
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function remember(file: string, key: string, now: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(temp, JSON.stringify({ key, at: now }), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // A home we cannot write to only means the next run probes again.
  }
}
