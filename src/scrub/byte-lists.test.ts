/**
 * A key in a Node Buffer, as JSON.stringify and util.inspect print one, and as a line of hex
 * bytes: each went out bare on 5af7928.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { secret } from '../../test/helpers/scrub-cases.js';
import { createScrubber } from './index.js';

const key = `sk-live-${secret(24, 72)}`;
const bytes = Buffer.from(`API_KEY=${key}\n`);
const hexPairs = [...bytes].map((b) => b.toString(16).padStart(2, '0'));

const forms: Record<string, string> = {
  "a Buffer's JSON (a tool's JSON answer holding one)": JSON.stringify({ file: '.env', content: bytes }),
  "a Buffer's JSON, pretty-printed": JSON.stringify({ content: bytes }, null, 2),
  "util.inspect's Buffer": inspect(bytes),
  "util.inspect's Uint8Array": inspect(new Uint8Array(bytes)),
  "Python's list(b'…')": `[${[...bytes].join(', ')}]`,
  'a line of hex bytes': hexPairs.join(' '),
  'hex bytes joined by colons': hexPairs.join(':'),
};

/** Three of the key's bytes as each form writes them. */
function keyPieces(): string[] {
  const middle = [...Buffer.from(key).subarray(10, 13)];
  return [
    middle.join(','),
    middle.join(', '),
    middle.map((b) => b.toString(16).padStart(2, '0')).join(' '),
    middle.map((b) => b.toString(16).padStart(2, '0')).join(':'),
  ];
}

describe('a configured key in bytes printed as a list', () => {
  const scrubber = createScrubber({ secrets: [key] });
  for (const [name, text] of Object.entries(forms)) {
    it(`is redacted in ${name}`, () => {
      const out = scrubber.text(text);
      expect(out).toContain('[REDACTED:');
      for (const piece of keyPieces()) expect(out).not.toContain(piece);
    });
  }
});

describe('a key a rule names, in a Buffer', () => {
  it("is redacted by its rule, read from the Buffer's bytes", () => {
    const out = createScrubber().text(JSON.stringify({ content: bytes }));
    expect(out).toContain('[REDACTED:generic-secret-assignment]');
  });
});

describe('a byte list in a stream', () => {
  const scrubber = createScrubber({ secrets: [key] });
  it('lets none of the key out, cut at every position', () => {
    const text = `{"result": ${JSON.stringify({ content: bytes }, null, 2)}, "done": true}`;
    for (let cut = 1; cut < text.length; cut++) {
      const stream = scrubber.stream();
      const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
      // Pretty-printed: a byte a line.
      expect(out.replace(/\s+/g, ''), `cut at ${cut}`).not.toContain(keyPieces()[0]);
    }
  });
});

describe('lists that are not a key', () => {
  const scrubber = createScrubber({ secrets: [key] });
  const texts: Record<string, string> = {
    'a Buffer of ordinary text': JSON.stringify(Buffer.from('plain notes about the build\n')),
    'numbers past a byte': JSON.stringify({
      type: 'Buffer',
      data: [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 11000, 12000, 13000],
    }),
    'a MAC address': 'link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff',
    'a word named Buffer': 'The Buffer API and Uint8Array views share memory.',
  };
  for (const [name, text] of Object.entries(texts)) {
    it(`leaves ${name} as it was`, () => expect(scrubber.text(text)).toBe(text));
  }
});
