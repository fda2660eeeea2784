/**
 * What a jail checks before it builds anything, each refusal with a code naming what is wrong: the
 * host (bubblewrap and its namespaces), the workdir and the profile's extra mounts (no host secret
 * enters, no mount covers a path the jail sets up itself), and limits no cgroup can enforce. Kept
 * apart from the build so every way a jail refuses to start can be read in one place.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { BulkheadError } from '../errors.js';
import { RESERVED_PATHS } from './bwrap-argv.js';
import type { Limiter } from './cgroup.js';
import { jailIdentity } from './identity.js';
import type { JailSpec } from './jail-spec.js';
import { checkSandboxSupport as checkFor, probeSandbox } from './launch.js';
import { defaultHostSecrets, type HostSecret, refuseUnsafeWorkdir } from './workdir-guard.js';

/**
 * Checks that bubblewrap exists and may build this jail's namespaces here; throws
 * `sandbox_unavailable` naming what is missing. The CLI calls it before it creates a run.
 */
export function checkSandboxSupport(): void {
  checkFor(jailIdentity());
}

/** The same check as a promise, for a caller that has other work to do while the probe runs. */
export async function checkSandboxSupportSoon(): Promise<void> {
  const problem = await probeSandbox(jailIdentity());
  if (problem) throw new BulkheadError('sandbox_unavailable', problem);
}

/**
 * The workdir (a folder, resolved through links) and the extra mounts, once neither is, holds or
 * lies inside a host secret (the defaults and the spec's own).
 */
export function checkWorkdirAndMounts(spec: Pick<JailSpec, 'workdir' | 'hostSecrets' | 'readOnlyMounts'>): {
  workdir: string;
  mounts: string[];
} {
  const given = resolve(spec.workdir);
  if (!existsSync(given) || !statSync(given).isDirectory()) {
    throw new BulkheadError('bad_request', `the workdir ${given} is not a folder`);
  }
  const workdir = realpathSync(given);
  const secrets = [...defaultHostSecrets(), ...(spec.hostSecrets ?? [])];
  refuseUnsafeWorkdir(workdir, secrets);
  const mounts = checkMounts(spec.readOnlyMounts ?? [], secrets);
  return { workdir, mounts };
}

/** The profile's extra read-only mounts: absolute, existing, not a reserved path, not a secret. */
function checkMounts(mounts: readonly string[], secrets: readonly (string | HostSecret)[]): string[] {
  return mounts.map((path) => {
    if (!isAbsolute(path) || !existsSync(path))
      throw new BulkheadError('bad_request', `sandbox.mounts: ${path} is not an absolute path that exists`);
    const real = realpathSync(path);
    const clash = RESERVED_PATHS.find((r) => real === r || (r !== '/' && real.startsWith(`${r}/`)));
    if (clash)
      throw new BulkheadError(
        'bad_request',
        `sandbox.mounts: ${path} is or lies in ${clash}, which the jail sets up itself`,
      );
    try {
      refuseUnsafeWorkdir(real, secrets);
    } catch (error) {
      throw new BulkheadError(
        'workdir_refused',
        `sandbox.mounts: ${(error as Error).message.replace(/; give.*$/, '')}`,
      );
    }
    return real;
  });
}

/** The refusal of a jail whose limits only rlimits would hold, for a profile that did not accept them. */
export function weakerLimitsRefused(limits: Limiter): BulkheadError {
  const what = limits.weaker.map((name) => `${name}: ${limits.mechanisms[name]}`).join('; ');
  return new BulkheadError(
    'sandbox_unavailable',
    `no cgroup enforces the jail's limits here (${what}). Run bulkhead as root, or in a delegated cgroup (systemd-run --user --scope -p Delegate=yes bulkhead run ...), or accept per-process rlimits with sandbox.weaker_limits: true in the profile`,
  );
}
