/**
 * Stdio upstreams die with the gateway. A gateway killed with SIGKILL (or
 * the OOM killer) cannot close its children, and a server that ignores the
 * end of its stdin (a timer, a watcher, a pool keeps it alive) would run on
 * unowned, holding its credentials. On Linux each upstream is started through
 * util-linux `setpriv --pdeathsig KILL`, which sets the parent-death signal
 * and then execs the command (same pid, same environment and cwd). Without
 * setpriv (not Linux, a minimal image) the command starts as before, and the
 * gateway's clean stop is what closes its children.
 */
import { existsSync } from 'node:fs';

const SETPRIV =
  process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) : undefined;

export function withParentDeath(command: string, args: string[]): { command: string; args: string[] } {
  if (!SETPRIV) return { command, args };
  return { command: SETPRIV, args: ['--pdeathsig', 'KILL', '--', command, ...args] };
}
