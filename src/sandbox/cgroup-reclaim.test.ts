/**
 * removeDeadCgroups judges a jail cgroup by its name's launcher tag, with the runtime folder's
 * liveness rule: a gone launcher's is removed, a live one's, an untagged one's and another user's
 * stay. Run on a folder laid out as a cgroup v2 tree (the real tree: test/sandbox/crash-leftovers).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeDeadCgroups } from './cgroup.js';
import { launcherTag } from './runtime-folder.js';

const ns = /\d+/.exec(readlinkSync('/proc/self/ns/pid'))?.[0];
const deadPid = spawnSync('true').pid;

function tree(...names: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'bulkhead-cg-'));
  writeFileSync(join(root, 'cgroup.controllers'), '');
  for (const name of names) mkdirSync(join(root, 'bulkhead', name), { recursive: true });
  return root;
}

describe('removeDeadCgroups', () => {
  it('removes the cgroup of a launcher that is gone', () => {
    const root = tree(`run_a-o${ns}.${deadPid}.12345`);
    expect(removeDeadCgroups({ root })).toHaveLength(1);
    expect(existsSync(join(root, 'bulkhead', `run_a-o${ns}.${deadPid}.12345`))).toBe(false);
  });

  it('keeps the cgroup of a live launcher', () => {
    const name = `run_b-${launcherTag()}`;
    const root = tree(name);
    expect(removeDeadCgroups({ root })).toEqual([]);
    expect(existsSync(join(root, 'bulkhead', name))).toBe(true);
  });

  it('keeps a cgroup whose launcher cannot be told (no tag, another pid namespace)', () => {
    const root = tree(`run_c-${deadPid}`, `run_d-o1.${deadPid}.12345`);
    expect(removeDeadCgroups({ root })).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)("keeps another user's cgroup", () => {
    const name = `run_e-o${ns}.${deadPid}.12345`;
    const root = tree(name);
    chownSync(join(root, 'bulkhead', name), 65534, 65534);
    expect(removeDeadCgroups({ root })).toEqual([]);
  });
});
