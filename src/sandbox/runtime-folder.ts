/**
 * The jail's runtime folder on the host (runtimeBase()/bulkhead-jail-XXXXXX, usually tmpdir()): the shared folder the jail
 * sees at /run/bulkhead (with the run's token), the seccomp program, the bridges' sockets. The
 * launcher removes it when the jail ends; a launcher killed with SIGKILL (or the machine's OOM
 * killer) never gets there, and the folder, token and all, stayed until the next reboot cleared
 * /tmp, if it does.
 *
 * So each folder names its owner in a file only the launcher can read (`owner`: its pid namespace,
 * pid and start time, in clock ticks after boot, as /proc/PID/stat gives it), and each launch, once
 * its own jail runs, removes the folders of owners that are gone: the pid names no process, or a
 * process started at another time (the pid was reused). A folder is kept whenever that cannot be
 * told: another user's, one without an owner file (being made, or made before this), one from
 * another pid namespace (its pids are not ours to look up), or an owner whose start time cannot be
 * read. Everything is done through held folder handles (pinned-dir.ts), never following a link.
 */
import {
  closeSync,
  constants,
  fstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { inside, openFolder, removeInside } from './pinned-dir.js';
import { pathInFilesystem } from './workdir-mounts.js';

const PREFIX = 'bulkhead-jail-';
const OWNER_FILE = 'owner';

/**
 * A process's start time (clock ticks after boot); undefined when there is no such process (or
 * only its exit status is left: a zombie its parent has not reaped yet), null when unknown.
 */
export function startTimeOf(pid: number | 'self'): string | undefined | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
  }
  // Fields 3 (state) and 22; the command (field 2, in parentheses) may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19] ?? null;
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'unknown';
  }
}

/** This process's owner line: pid namespace, pid, start time. */
function ownerLine(): string {
  return `${pidNamespace()} ${process.pid} ${startTimeOf('self') ?? 'unknown'}\n`;
}

/**
 * Whether the path the jail's mount table would show for a folder (its path in its filesystem: the
 * runtime folder is bind-mounted) names the launcher's user: their home, name or uid as a part.
 */
export function namesUser(path: string): boolean {
  const uid = String(process.getuid?.() ?? '');
  let name = uid;
  try {
    name = userInfo().username;
  } catch {
    // A uid without a passwd entry has no name to show.
  }
  const parts = path.split('/');
  const home = homedir();
  return (
    parts.some((part) => part === name || part === uid) ||
    (home !== '/' && (path === home || path.startsWith(`${home}/`))) ||
    path.startsWith('/run/user/')
  );
}

/**
 * Where runtime folders are made: the temporary folder, unless the path the jail would see for it
 * names the user (`/home/alice/tmp`, libpam-tmpdir's `/tmp/user/1000`); then /dev/shm or /tmp,
 * whichever shows nothing of the user (a tmpfs root shows only `/`). The jail still sees the
 * folder's random name.
 */
export function runtimeBase(): string {
  for (const dir of [tmpdir(), '/dev/shm', '/tmp']) {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      continue;
    }
    const shown = pathInFilesystem(real);
    if (shown !== undefined && !namesUser(shown)) return dir;
  }
  return tmpdir();
}

/** A new runtime folder (mode 0700 until the caller sets its own), naming this process as its owner. */
export function makeRuntimeFolder(dir: string = runtimeBase()): string {
  const runtime = mkdtempSync(join(dir, PREFIX));
  writeFileSync(join(runtime, OWNER_FILE), ownerLine(), { flag: 'wx', mode: 0o600 });
  return runtime;
}

/** Whether the owner line names a process that is gone (never when that cannot be told). */
function ownerGone(line: string, namespace: string): boolean {
  const [ns, pid, start] = line.trim().split(' ');
  return processGone(ns ?? '', pid ?? '', start ?? '', namespace);
}

/** Whether pid `pid` of pid namespace `ns`, started at `start`, is gone (never when that cannot be told). */
function processGone(ns: string, pid: string, start: string, namespace: string): boolean {
  if (ns !== namespace || ns === 'unknown' || !/^\d+$/.test(pid) || !/^\d+$/.test(start)) return false;
  if (Number(pid) === process.pid) return false;
  const now = startTimeOf(Number(pid));
  return now === undefined || (now !== null && now !== start);
}

/**
 * This process as a launcher, in a form fit for a file name (`o<pid namespace inode>.<pid>.<start
 * time>`): what else a launch makes on the host (its cgroup) carries it, and is reclaimed by
 * `launcherGone` with the runtime folder's own rule. Undefined when the namespace or the start time
 * cannot be read (such state is never judged gone).
 */
export function launcherTag(): string | undefined {
  const ns = /^pid:\[(\d+)\]$/.exec(pidNamespace())?.[1];
  const start = startTimeOf('self');
  return ns && start ? `o${ns}.${process.pid}.${start}` : undefined;
}

/** Whether a name ending in a launcherTag names a launcher that is gone (false for any other name). */
export function launcherGone(name: string): boolean {
  const tag = /o(\d+)\.(\d+)\.(\d+)$/.exec(name);
  if (!tag) return false;
  return processGone(`pid:[${tag[1]}]`, tag[2] ?? '', tag[3] ?? '', pidNamespace());
}

/** This boot of this host (a random UUID the kernel makes at boot), or undefined if unreadable. */
function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * This process as a run's launcher, for a record other hosts read too (the store replicas share):
 * `<boot id>/<launcherTag>`. A pid namespace's inode alone does not name a host (the first one has
 * the same number on every machine), nor a boot. Undefined when any part cannot be read.
 */
export function hostLauncherTag(): string | undefined {
  const boot = bootId();
  const tag = launcherTag();
  return boot && tag ? `${boot}/${tag}` : undefined;
}

/** The form of `hostLauncherTag`, for input that claims to be one. */
export const HOST_LAUNCHER_TAG = /^[0-9a-f-]{36}\/o\d{1,20}\.\d{1,10}\.\d{1,20}$/;

/** Whether a `hostLauncherTag` names a launcher that is gone: never one of another host or boot. */
export function hostLauncherGone(tag: string): boolean {
  const slash = tag.indexOf('/');
  return slash > 0 && tag.slice(0, slash) === bootId() && launcherGone(tag.slice(slash + 1));
}

/** The owner line of a runtime folder held open, or undefined when it has none (or it is not a file). */
function ownerOf(folder: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(
      inside(folder, OWNER_FILE),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch {
    return undefined;
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd, 'latin1').slice(0, 200) : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes this user's runtime folders in `dir` whose launcher is gone; returns their names. Never
 * throws: a folder it cannot judge or remove is left as it is.
 */
export function removeDeadRuntimeFolders(dir: string = runtimeBase()): string[] {
  const removed: string[] = [];
  const me = process.getuid?.();
  const namespace = pidNamespace();
  let parent: number;
  try {
    parent = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return removed;
  }
  try {
    for (const name of readdirSync(inside(parent, ''))) {
      if (!name.startsWith(PREFIX)) continue;
      let gone = false;
      try {
        const folder = openFolder(inside(parent, name));
        try {
          const owner = fstatSync(folder).uid === me ? ownerOf(folder) : undefined;
          gone = owner !== undefined && ownerGone(owner, namespace);
        } finally {
          closeSync(folder);
        }
        if (!gone) continue;
        removeInside(parent, name);
        removed.push(name);
      } catch {
        // Not a folder, or one that could not be removed: left as it is.
      }
    }
  } catch {
    // The folder could not be listed.
  } finally {
    closeSync(parent);
  }
  return removed;
}
