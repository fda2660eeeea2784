import { describe, expect, it } from 'vitest';
import { shownJson, shownKeys } from './json-text.js';

describe('a string as the dashboard shows it', () => {
  it('writes bidi, zero-width, tag and variation-selector characters as escapes', () => {
    expect(shownJson('invoice\u202efdp.exe')).toBe('"invoice\\u{202e}fdp.exe"');
    expect(shownJson('ceo@com\u200bpany.com')).toBe('"ceo@com\\u{200b}pany.com"');
    expect(shownJson(`ok${String.fromCodePoint(0xe0041)}\ufe01\u3164`)).toBe(
      '"ok\\u{e0041}\\u{fe01}\\u{3164}"',
    );
  });

  it('leaves ordinary text, other scripts and emoji as they are', () => {
    expect(shownJson('Заказ 42 ☕ café')).toBe('"Заказ 42 ☕ café"');
  });
});

describe('keys as the dashboard shows them', () => {
  it('writes out a look-alike key beside the key it imitates, and leaves that key as it is', () => {
    expect(shownKeys(['PATH', 'P\u0410TH'])).toEqual(['"PATH"', '"P\\u{410}TH"']);
  });

  it('writes out both spellings of a key composed and decomposed', () => {
    expect(shownKeys(['caf\u00e9', 'cafe\u0301'])).toEqual(['"caf\\u{e9}"', '"cafe\\u{301}"']);
  });

  it('leaves keys of another script as they are', () => {
    expect(shownKeys(['Заказ', '名前'])).toEqual(['"Заказ"', '"名前"']);
  });
});
