/**
 * Names that are not UTF-8. A Linux file name is bytes; the merge read folder entries as UTF-8
 * strings, so a name holding 0xff came back as U+FFFD: looking it up by that string failed and
 * took the whole merge with it (no change of the run reached the host), and two names that differ
 * only in such bytes decoded to one string. The merge now carries every name byte for byte.
 */
import {
  lstatSync,
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
import { describe, expect, it } from 'vitest';
import { bytesOf, nameOf } from './byte-names.js';
import { mergeWorkdir } from './merge.js';

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
/** A path under `dir` whose last part is these bytes. */
const at = (dir: string, ...name: number[]) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name)]);
const raw = (dir: string) =>
  readdirSync(dir, { encoding: 'buffer' })
    .map((b) => b.toString('hex'))
    .sort();

function pair() {
  const base = temp('bulkhead-names-');
  const from = join(base, 'from');
  const to = join(base, 'to');
  mkdirSync(from);
  mkdirSync(to);
  return { from, to };
}

const merge = (from: string, to: string) =>
  mergeWorkdir({ from, to, stagedAtMs: Date.now(), maxBytes: 1 << 20 });

describe('merge: names that are not UTF-8', () => {
  it('carries a file the agent named with bytes 0xff 0xfe, and the run’s other changes with it', () => {
    const { from, to } = pair();
    writeFileSync(at(from, 0xff, 0xfe), 'odd\n');
    writeFileSync(join(from, 'plain.txt'), 'plain\n');
    const report = merge(from, to);
    expect(report.notes).toEqual([]);
    expect(raw(to)).toEqual(['fffe', Buffer.from('plain.txt').toString('hex')].sort());
    expect(readFileSync(at(to, 0xff, 0xfe), 'utf8')).toBe('odd\n');
    expect(readFileSync(join(to, 'plain.txt'), 'utf8')).toBe('plain\n');
  });

  it('keeps apart two names that differ only in bytes UTF-8 cannot decode', () => {
    const { from, to } = pair();
    writeFileSync(at(from, 0x61, 0xff), 'one\n');
    writeFileSync(at(from, 0x61, 0xfe), 'two\n');
    writeFileSync(join(from, 'a\u{fffd}'), 'three\n'); // the string both would decode to
    merge(from, to);
    expect(readFileSync(at(to, 0x61, 0xff), 'utf8')).toBe('one\n');
    expect(readFileSync(at(to, 0x61, 0xfe), 'utf8')).toBe('two\n');
    expect(readFileSync(join(to, 'a\u{fffd}'), 'utf8')).toBe('three\n');
    expect(readdirSync(to)).toHaveLength(3);
  });

  it('leaves a host file the agent did not touch and deletes one it deleted, by their bytes', () => {
    const { from, to } = pair();
    for (const dir of [from, to]) writeFileSync(at(dir, 0x6b, 0xff), 'kept\n');
    writeFileSync(at(to, 0x64, 0xff), 'deleted in the jail\n');
    writeFileSync(join(from, 'new.txt'), 'new\n');
    merge(from, to);
    expect(raw(to)).toEqual(['6bff', Buffer.from('new.txt').toString('hex')].sort());
  });

  it('carries files inside a folder whose name is not UTF-8', () => {
    const { from, to } = pair();
    mkdirSync(at(from, 0xc3, 0x28));
    writeFileSync(Buffer.concat([at(from, 0xc3, 0x28), Buffer.from('/inner.txt')]), 'inner\n');
    merge(from, to);
    expect(readFileSync(Buffer.concat([at(to, 0xc3, 0x28), Buffer.from('/inner.txt')]), 'utf8')).toBe(
      'inner\n',
    );
  });

  it('replaces a host folder holding such names with the file the agent made there', () => {
    const { from, to } = pair();
    mkdirSync(join(to, 'd'));
    writeFileSync(at(join(to, 'd'), 0xff), 'x');
    mkdirSync(at(join(to, 'd'), 0xfe));
    writeFileSync(join(from, 'd'), 'now a file\n');
    const report = merge(from, to);
    expect(report.notes).toEqual([]);
    expect(lstatSync(join(to, 'd')).isFile()).toBe(true);
  });

  it('carries a link whose target is not UTF-8 with its exact bytes', () => {
    const { from, to } = pair();
    symlinkSync(Buffer.from([0x74, 0xff]), join(from, 'link'));
    merge(from, to);
    expect(readlinkSync(join(to, 'link'), { encoding: 'buffer' }).toString('hex')).toBe('74ff');
  });
});

describe('byte names', () => {
  it('reads valid UTF-8 as itself and maps each undecodable byte to its own lone surrogate, reversibly', () => {
    expect(nameOf(Buffer.from('caf\u00e9 \u{1f600} \u{fffd}'))).toBe('caf\u00e9 \u{1f600} \u{fffd}');
    const odd = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80, 0xe2, 0x82]);
    const name = nameOf(odd);
    expect(name).toBe('a\udcff\udcc3(\udced\udca0\udc80\u{1f600}\udce2\udc82');
    expect(bytesOf(name).equals(odd)).toBe(true);
    expect(bytesOf('caf\u00e9 \u{10080}').equals(Buffer.from('caf\u00e9 \u{10080}'))).toBe(true);
  });
});
