import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRunWorkdir } from './cli-support.js';

describe('checkRunWorkdir', () => {
  it('refuses a workdir that does not exist, naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulkhead-workdir-'));
    expect(() => checkRunWorkdir(join(dir, 'missing'), [])).toThrow(/missing is not a folder/);
  });

  it('says a folder whose name is not UTF-8 cannot be named, rather than that it is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulkhead-workdir-'));
    // "café" in Latin-1: the folder exists, but no JavaScript string names it.
    const latin1 = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9])]);
    mkdirSync(latin1);
    const asNodeReadsIt = latin1.toString('utf8');
    expect(() => checkRunWorkdir(asNodeReadsIt, [])).toThrow(/not valid UTF-8.*rename the folder/);
  });

  it('takes a folder whose name holds U+FFFD itself (valid UTF-8)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulkhead-workdir-'));
    const named = join(dir, 'caf\uFFFD');
    mkdirSync(named);
    expect(checkRunWorkdir(named, [])).toBe(named);
  });
});
