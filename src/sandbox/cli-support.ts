/**
 * What `bulkhead run` hands the jail, kept here so the CLI only assembles:
 * the host secrets a run's workdir must not expose (the policy's folder, the
 * store, the gateway home with the operator tokens, bulkhead's own install
 * folder), and the jail options a profile's `sandbox` block sets.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BulkheadError } from '../errors.js';
import type { Profile } from '../policy/schema/index.js';
import type { JailSpec, WorkdirOutcome } from './jail.js';
import type { WorkdirNote } from './merge.js';
import { defaultHostSecrets, type HostSecret, refuseUnsafeWorkdir } from './workdir-guard.js';

/** bulkhead's own checkout or package folder (node_modules, build output, maybe a .env). */
export function installRoot(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'sandbox'))) return dir;
  }
  return undefined;
}

/** `sqlite`: the store's path as the policy writes it (relative to `dir`), when it is SQLite. */
export function runHostSecrets(loaded: {
  file: string;
  dir: string;
  sqlite: string | undefined;
}): HostSecret[] {
  const secrets: HostSecret[] = [
    { path: loaded.dir, what: "the policy's folder", scope: 'any' },
    { path: loaded.file, what: 'the policy file', scope: 'any' },
  ];
  if (loaded.sqlite !== undefined) {
    secrets.push({
      path: resolve(loaded.dir, loaded.sqlite),
      what: 'the SQLite store (the audit log)',
      scope: 'any',
    });
  }
  const root = installRoot();
  if (root) secrets.push({ path: root, what: "bulkhead's install folder", scope: 'any' });
  return secrets;
}

/**
 * Refuses, before a run is created, a workdir that is missing or would expose a host secret; returns
 * its real path.
 */
export function checkRunWorkdir(workdir: string, secrets: readonly HostSecret[]): string {
  const given = resolve(workdir);
  if (!existsSync(given) || !statSync(given).isDirectory()) {
    // node decodes a path that is not UTF-8 (the current folder, an argument) with U+FFFD for each
    // bad byte, and the text names no folder: say so, rather than that the folder is missing.
    if (given.includes('\uFFFD'))
      throw new BulkheadError(
        'bad_request',
        `the workdir's path is not valid UTF-8 (${JSON.stringify(given)}, each \uFFFD a byte node could not read), so bulkhead cannot name it to the jail; rename the folder or give another with --workdir <dir>`,
      );
    throw new BulkheadError(
      'bad_request',
      `the workdir ${given} is not a folder; give one with --workdir <dir>`,
    );
  }
  const real = realpathSync(given);
  refuseUnsafeWorkdir(real, [...defaultHostSecrets(), ...secrets]);
  return real;
}

export function jailOptionsOf(
  sandbox: Profile['sandbox'],
): Pick<JailSpec, 'limits' | 'readOnlyMounts' | 'acceptWeakerLimits' | 'carryOver'> {
  return {
    limits: {
      memoryBytes: sandbox.memory,
      pids: sandbox.pids,
      cpu: sandbox.cpu,
      tmpBytes: sandbox.tmp_size,
      ...(sandbox.workdir_size ? { workdirBytes: sandbox.workdir_size } : {}),
    },
    readOnlyMounts: sandbox.mounts,
    acceptWeakerLimits: sandbox.weaker_limits,
    carryOver: sandbox.carry_over,
  };
}

/** Shows the operator what the merge held back or dropped, and records each as an audit event. */
export async function reportWorkdir(
  outcome: WorkdirOutcome,
  say: (text: string) => void,
  record: (note: WorkdirNote) => Promise<void>,
): Promise<void> {
  if ('error' in outcome) say(`the workdir was not merged back: ${outcome.error}`);
  for (const note of outcome.notes) {
    const what = note.kind === 'held_back' ? `${note.change} inside, held back` : 'not carried over';
    say(`workdir ${note.path}: ${what} (${note.reason})`);
    await record(note).catch((error: unknown) =>
      say(`could not record a workdir note: ${(error as Error).message}`),
    );
  }
}
