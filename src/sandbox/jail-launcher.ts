/**
 * Starting the jail's launcher (launch.ts): the one prepared ahead (prepareJail) where it was made
 * for this very jail, a fresh one otherwise, and the descriptors between it and this process. Kept
 * apart from the build so the rule for reusing a prepared launcher sits beside what it guards: a
 * launcher holding another seccomp program or other stdio is never handed this jail.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { BulkheadError } from '../errors.js';
import { JAIL_GATEWAY_PORT, JAIL_PROXY_PORT } from './bridge.js';
import type { Limiter } from './cgroup.js';
import { defaultEgressPort, listenerCommand } from './egress-listen.js';
import { type JailIdentity, jailIdentity } from './identity.js';
import type { ListenerHelper } from './jail-ports.js';
import type { JailSpec } from './jail-spec.js';
import { launch, type PreparedLaunch, prepareLaunch } from './launch.js';
import { seccompProgram } from './seccomp.js';

/** The descriptor bwrap reads the seccomp program from (`--seccomp 4`). */
export const SECCOMP_FD = 4;

/**
 * The jail's launcher started now, before the jail is known, for a caller that will start one with
 * this stdio (`bulkhead run`: its own, while it reads its policy): perl's start is then not
 * between a known jail and bwrap (launch.ts, prepareLaunch). Only where startJail would
 * use it (a root launcher whose jail's ports are listened on from the host: perl); undefined
 * elsewhere. Give it to startJail as `launcher`, which ends it unused if it cannot use it; a caller
 * that starts no jail after all calls its `cancel()` (an unused one also ends with this process).
 */
export function prepareJail(stdio: 'inherit' | 'pipe' | 'ignore' = 'inherit'): PreparedLaunch | undefined {
  if (defaultEgressPort() !== 'listener') return undefined;
  const listener = listenerCommand([JAIL_GATEWAY_PORT, JAIL_PROXY_PORT]);
  return listener
    ? prepareLaunch({ identity: jailIdentity(), stdio, listener, seccomp: seccompProgram() })
    : undefined;
}

/**
 * The spec's prepared launcher where it was made for this jail: the perl launcher with the
 * listener's helper, the agent on this process's stdio, this seccomp program (it has it on a pipe).
 * Any other is ended unused, and the program is written to `runtime` for a fresh launcher.
 */
export function pickLauncher(
  spec: Pick<JailSpec, 'launcher' | 'stdio'>,
  helper: ListenerHelper | undefined,
  program: Buffer | undefined,
  runtime: string,
): { prepared: PreparedLaunch | undefined; seccompFile: string } {
  const prepared =
    spec.launcher &&
    helper &&
    (spec.stdio ?? 'inherit') === spec.launcher.stdio &&
    sameProgram(spec.launcher.seccomp, program)
      ? spec.launcher
      : undefined;
  if (!prepared) spec.launcher?.cancel();
  const seccompFile = join(runtime, 'seccomp.bpf');
  if (program && !prepared) writeFileSync(seccompFile, program);
  return { prepared, seccompFile };
}

/** Whether a prepared launcher's seccomp program is this jail's (bwrap is told `--seccomp 4` by it). */
function sameProgram(given: Buffer | undefined, program: Buffer | undefined): boolean {
  return given === undefined || program === undefined ? given === program : given.equals(program);
}

/**
 * Starts the launcher, then bwrap: the prepared one is handed its chain; a fresh one gets the
 * agent's stdio, bwrap's status pipe, the seccomp program and the staging pipes (fd 0-7).
 */
export function startLauncher(parts: {
  prepared: PreparedLaunch | undefined;
  identity: JailIdentity;
  limits: Limiter;
  /** Steps before bwrap that mount the jail's devpts and, without a memory cgroup, its sized tmpfs (sized-mounts.ts). */
  premount: readonly string[];
  argv: string[];
  program: Buffer | undefined;
  seccompFile: string;
  stdio: JailSpec['stdio'];
  helper: ListenerHelper | undefined;
}): ChildProcess {
  const { prepared, limits } = parts;
  if (prepared) {
    return prepared.start({
      identity: parts.identity,
      joinFiles: limits.joinFiles,
      prlimitArgs: limits.prlimitArgs,
      premount: parts.premount,
      bwrapArgv: parts.argv,
    });
  }
  const seccompFd = parts.program ? openSync(parts.seccompFile, 'r') : 'ignore';
  try {
    const stdio = parts.stdio ?? 'inherit';
    return launch({
      identity: parts.identity,
      joinFiles: limits.joinFiles,
      prlimitArgs: limits.prlimitArgs,
      premount: parts.premount,
      bwrapArgv: parts.argv,
      stdio: [stdio, stdio, stdio, 'pipe', seccompFd, 'pipe', 'pipe', 'pipe'],
      ...(parts.helper ? { listener: parts.helper } : {}),
    });
  } finally {
    if (typeof seccompFd === 'number') closeSync(seccompFd);
  }
}

/** This process's end of one of the jail's pipes; `sandbox_unavailable` when it is none. */
export function stdioAt(child: ChildProcess, fd: number): Readable | Writable {
  const stream = (child.stdio as readonly (Readable | Writable | null | undefined)[])[fd];
  if (!stream) throw new BulkheadError('sandbox_unavailable', `the jail's descriptor ${fd} is not a pipe`);
  return stream;
}
