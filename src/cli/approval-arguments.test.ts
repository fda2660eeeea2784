/**
 * The terminal's view of a held call's arguments. A map argument with keys
 * `PATH` and `PАTH` (Cyrillic А) printed as `/PATH` twice, so the approver
 * could not tell which value the upstream reads as `PATH`; the reason names
 * such keys (pipeline/key-note.ts), the view showed them as they were.
 */
import { describe, expect, it } from 'vitest';
import { argumentLines, argumentView } from './approval-arguments.js';

const lines = (args: Record<string, unknown>): string[] => argumentLines(argumentView(args, null), 200, '');
const pointers = (args: Record<string, unknown>): string[] =>
  lines(args).map((l) => l.slice(2).split(' = ')[0]?.trim() ?? '');

describe('keys an approver would read as another key', () => {
  it('writes out a look-alike letter in a key beside the key it imitates', () => {
    expect(pointers({ env: { PATH: '/usr/bin', 'P\u0410TH': '/tmp/evil' } })).toEqual([
      '/env/PATH',
      '/env/P\\u{410}TH',
    ]);
  });

  it('writes out a key of look-alikes only that reads as a sibling', () => {
    expect(pointers({ env: { PATH: '/usr/bin', '\u0420\u0410\u0422\u041d': '/tmp/evil' } })).toContain(
      '/env/\\u{420}\\u{410}\\u{422}\\u{41d}',
    );
  });

  it('writes out a key with look-alike letters among ASCII ones even alone', () => {
    expect(pointers({ 'p\u0430ssword': 'x' })).toEqual(['/p\\u{430}ssword']);
  });

  it('writes out both spellings of a key composed and decomposed', () => {
    expect(pointers({ 'caf\u00e9': 1, 'cafe\u0301': 2 })).toEqual(['/caf\\u{e9}', '/cafe\\u{301}']);
  });

  it('writes out the edge space of a key that reads as a sibling once trimmed', () => {
    expect(pointers({ PATH: 'a', 'PATH ': 'b' })).toEqual(['/PATH', '/PATH\\u{20}']);
  });

  it('writes out a look-alike key nested in an array of objects', () => {
    expect(pointers({ rows: [{ 'r\u043ele': 'admin' }] })).toEqual(['/rows/0/r\\u{43e}le']);
  });

  it('leaves a key written in another script as it is', () => {
    expect(pointers({ '\u540d\u524d': 'x', Заказ: 1 })).toEqual(['/\u540d\u524d', '/Заказ']);
  });
});

describe('characters a terminal hides, in keys and string values', () => {
  it('writes out zero-width and bidi characters in a key', () => {
    expect(pointers({ 'PA\u200bTH': 1, 'x\u202ey': 2 })).toEqual(['/PA\\u{200b}TH', '/x\\u{202e}y']);
  });

  it('writes out line separators and non-ASCII spaces in a string value', () => {
    expect(lines({ cmd: 'ls\u2028rm -rf /\u00a0x' })).toEqual(['  /cmd = "ls\\u{2028}rm -rf /\\u{a0}x"']);
  });
});
