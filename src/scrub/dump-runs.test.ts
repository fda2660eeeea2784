/**
 * A key read through a hex dump (`xxd .env`, `hexdump -C`, `od -t x1`) is cut into 16-byte lines
 * in both the hex and the ASCII column: each went out bare on 9618d04.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secret } from '../../test/helpers/scrub-cases.js';
import { createScrubber } from './index.js';

const key = `sk-live-${secret(24, 71)}`;
const file = Buffer.from(`FOO=bar\nAPI_KEY=${key}\nDEBUG=0\n`);

const hex = (bytes: Buffer) => [...bytes].map((b) => b.toString(16).padStart(2, '0'));
const printable = (bytes: Buffer) =>
  [...bytes].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
const rows = (bytes: Buffer, width: number) =>
  Array.from({ length: Math.ceil(bytes.length / width) }, (_, k) =>
    bytes.subarray(k * width, (k + 1) * width),
  );

/** As `xxd -g group -c width` prints `bytes`. */
function xxd(bytes: Buffer, group = 2, width = 16): string {
  return rows(bytes, width)
    .map((row, k) => {
      const pairs = hex(row);
      const groups: string[] = [];
      for (let g = 0; g < pairs.length; g += group) groups.push(pairs.slice(g, g + group).join(''));
      const column = groups.join(' ').padEnd((width / group) * (group * 2 + 1) - 1);
      return `${(k * width).toString(16).padStart(8, '0')}: ${column}  ${printable(row)}`;
    })
    .join('\n');
}

/** As `hexdump -C` prints `bytes`. */
function hexdumpC(bytes: Buffer): string {
  const lines = rows(bytes, 16).map((row, k) => {
    const pairs = hex(row);
    const column = `${pairs.slice(0, 8).join(' ')}  ${pairs.slice(8).join(' ')}`.padEnd(48);
    return `${(k * 16).toString(16).padStart(8, '0')}  ${column}  |${printable(row)}|`;
  });
  return `${lines.join('\n')}\n${bytes.length.toString(16).padStart(8, '0')}\n`;
}

/** `od` itself (coreutils, on every machine), on `bytes` written to a file. */
function od(bytes: Buffer, ...args: string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'dump-')), 'f');
  writeFileSync(path, bytes);
  return execFileSync('od', [...args, path], { encoding: 'utf8' });
}

const dumps: Record<string, () => string> = {
  xxd: () => xxd(file),
  'xxd -g1': () => xxd(file, 1),
  'xxd -c 32': () => xxd(file, 2, 32),
  'hexdump -C': () => hexdumpC(file),
  'od -A x -t x1z': () => od(file, '-A', 'x', '-t', 'x1z'),
  'od -An -t x1': () => od(file, '-An', '-t', 'x1'),
  'od -c': () => od(file, '-c'),
  'od -A x -c': () => od(file, '-A', 'x', '-c'),
};

/** The key's bytes as any of these dumps prints three of them in a row. */
const keyHexPieces = () => {
  const pairs = hex(Buffer.from(key));
  const cells = [...key.slice(10, 14)].map((c) => `   ${c}`).join('');
  return [pairs.slice(8, 11).join(' '), pairs.slice(8, 11).join(''), key.slice(10, 14), cells];
};

describe('a configured key in a hex dump', () => {
  const scrubber = createScrubber({ secrets: [key] });
  for (const [name, dump] of Object.entries(dumps)) {
    it(`is redacted in ${name}'s lines, hex and ASCII`, () => {
      const out = scrubber.text(dump());
      expect(out).toContain('[REDACTED:');
      for (const piece of keyHexPieces()) expect(out).not.toContain(piece);
    });
  }
});

describe('a key a rule names, in a hex dump', () => {
  const scrubber = createScrubber();
  it('is redacted by its rule, read from the dumped bytes', () => {
    const out = scrubber.text(xxd(file));
    expect(out).toContain('[REDACTED:generic-secret-assignment]');
    for (const piece of keyHexPieces()) expect(out).not.toContain(piece);
  });
});

describe('a hex dump in a stream', () => {
  const scrubber = createScrubber({ secrets: [key] });
  it('lets no line of the key out, cut at every position', () => {
    const text = `$ xxd .env\n${xxd(file)}\n$ echo done\ndone\n`;
    for (let cut = 1; cut < text.length; cut++) {
      const stream = scrubber.stream();
      const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
      for (const piece of keyHexPieces()) expect(out, `cut at ${cut}`).not.toContain(piece);
    }
  });
});

describe('dump-shaped text with no key', () => {
  const scrubber = createScrubber({ secrets: [key] });
  const texts: Record<string, string> = {
    'a dump of ordinary text': xxd(
      Buffer.from('Hello, world. This file holds plain notes about the build.\n'),
    ),
    'git log --oneline': '9618d04 scrub: a here-string\n451ae74 scrub: letters\n76585b2 add feature\n',
    'sha256sum output': `${'ab'.repeat(32)}  release.tar.gz\n${'cd'.repeat(32)}  notes.txt\n`,
    'a table of numbers': '100000 200000 300000\n400000 500000 600000\n',
    'od -c of ordinary text': '0000000   H   e   l   l   o  \\n\n0000006\n',
  };
  for (const [name, text] of Object.entries(texts)) {
    it(`leaves ${name} as it was`, () => expect(scrubber.text(text)).toBe(text));
  }
});
