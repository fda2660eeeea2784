/**
 * Runtime folders left by launchers that are gone (killed with SIGKILL: no cleanup ran) are removed
 * by the next launch; a folder whose launcher may still run never is. The SIGKILL itself, with a
 * real jail: test/sandbox/runtime-folders.test.ts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRuntimeFolder, removeDeadRuntimeFolders, startTimeOf } from './runtime-folder.js';

const isRoot = process.getuid?.() === 0;
const temp = () => mkdtempSync(join(tmpdir(), 'bulkhead-rt-'));
const live: ChildProcess[] = [];
afterAll(() => {
  for (const child of live) child.kill('SIGKILL');
});

/** A runtime folder as a launcher with this owner line would have left it. */
function leftBy(dir: string, owner: string | undefined): string {
  const runtime = mkdtempSync(join(dir, 'bulkhead-jail-'));
  mkdirSync(join(runtime, 'shared'));
  writeFileSync(join(runtime, 'shared', 'token'), 'secret');
  if (owner !== undefined) writeFileSync(join(runtime, 'owner'), owner);
  return runtime;
}

const NS = readlinkSync('/proc/self/ns/pid');

function deadPid(): number {
  const child = spawnSync('/bin/sh', ['-c', 'echo $$']);
  return Number(child.stdout.toString().trim());
}

async function livePid(): Promise<number> {
  const child = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
  live.push(child);
  await once(child, 'spawn');
  return child.pid as number;
}

describe('runtime folders of launchers that are gone', () => {
  it('names this process as the owner of a new runtime folder', () => {
    const line = readFileSync(join(makeRuntimeFolder(temp()), 'owner'), 'utf8');
    expect(line).toBe(`${NS} ${process.pid} ${startTimeOf('self')}\n`);
    expect(line).toMatch(/^pid:\[\d+\] \d+ \d+\n$/);
  });

  it('removes a folder whose owner process is dead', () => {
    const dir = temp();
    const runtime = leftBy(dir, `${NS} ${deadPid()} 1\n`);
    expect(removeDeadRuntimeFolders(dir)).toHaveLength(1);
    expect(existsSync(runtime)).toBe(false);
  });

  it('removes a folder whose owner pid now belongs to a process started at another time', async () => {
    const dir = temp();
    const pid = await livePid();
    const runtime = leftBy(dir, `${NS} ${pid} ${Number(startTimeOf(pid)) - 1}\n`);
    removeDeadRuntimeFolders(dir);
    expect(existsSync(runtime)).toBe(false);
  });

  it('keeps a folder whose owner process is alive', async () => {
    const dir = temp();
    const pid = await livePid();
    const runtime = leftBy(dir, `${NS} ${pid} ${startTimeOf(pid)}\n`);
    const mine = makeRuntimeFolder(dir);
    expect(removeDeadRuntimeFolders(dir)).toEqual([]);
    expect(existsSync(join(runtime, 'shared', 'token'))).toBe(true);
    expect(existsSync(mine)).toBe(true);
  });

  it('keeps a folder it cannot judge: no owner file, or another pid namespace', () => {
    const dir = temp();
    const unowned = leftBy(dir, undefined);
    const elsewhere = leftBy(dir, `pid:[1] ${deadPid()} 1\n`);
    expect(removeDeadRuntimeFolders(dir)).toEqual([]);
    expect(existsSync(unowned) && existsSync(elsewhere)).toBe(true);
  });

  it('leaves a link by that name, and what it points at, alone', () => {
    const dir = temp();
    const target = leftBy(temp(), `${NS} ${deadPid()} 1\n`);
    symlinkSync(target, join(dir, 'bulkhead-jail-link00'));
    expect(removeDeadRuntimeFolders(dir)).toEqual([]);
    expect(readdirSync(join(target, 'shared'))).toEqual(['token']);
  });

  it.skipIf(!isRoot)('leaves another user’s folder alone', () => {
    const dir = temp();
    const runtime = leftBy(dir, `${NS} ${deadPid()} 1\n`);
    chownSync(runtime, 12345, 12345);
    expect(removeDeadRuntimeFolders(dir)).toEqual([]);
    expect(existsSync(runtime)).toBe(true);
  });
});
