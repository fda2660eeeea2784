/**
 * A credential written plainly right after an escape: `%22ghp_…%22` in a query string, `\u0022`
 * before it in JSON-escaped text, `%2522` (encoded twice). The scan of the text itself cannot
 * take it (the escape's last hex digit is a word character, so a rule's left boundary refuses
 * the token), and the scan of the decoded run found it but was set aside as "found above" because
 * its text stands in the run as written. Every token after an escape went out bare.
 */
import { describe, expect, it } from 'vitest';
import { cpuMs } from '../../test/helpers/cpu-time.js';
import { createScrubber } from './index.js';

/** Built at runtime: no credential-shaped literal sits in the source. */
const TOKENS = {
  github: `ghp_${'aB3cD4eF5gH6'.repeat(3)}`,
  aws: `AKIA${'Q3EGRDLIIB2D'}TN5Z`,
  deepseek: `sk-${'c1530cc9af153121'.repeat(2)}`,
  slack: `xoxb-1234567890-1234567890123-${'aB3cD4eF5gH6'.repeat(2)}`,
};
/** Escapes a value can start with: percent (once, twice), \u, \x and quoted-printable's `=3D`. */
const BEFORE = ['%22', '%3D', '%20', '%2F', '%3A', '%0A', '%2522', '\\u0022', '\\x22', '=3D'];
/** What can follow it: nothing, the closing escape, the next parameter, prose. */
const AFTER = ['', '%22', '&next=1', ' and more'];

const scrubber = createScrubber();

describe('a credential written plainly right after an escape', () => {
  for (const [name, token] of Object.entries(TOKENS)) {
    it(`is redacted for ${name}, after every escape and before anything`, () => {
      const leaked: string[] = [];
      for (const before of BEFORE)
        for (const after of AFTER) {
          const text = `q${before}${token}${after}`;
          if (scrubber.text(text).includes(token)) leaked.push(text);
        }
      expect(leaked).toEqual([]);
    });
  }

  it('is redacted in a URL-encoded JSON body in a query string', () => {
    const body = encodeURIComponent(JSON.stringify({ key: TOKENS.github }));
    const out = scrubber.text(`https://collector.example/c?d=${body}&v=2`);
    expect(out).not.toContain(TOKENS.github);
    expect(out).toContain('[REDACTED:github-pat]');
    // The rest of the URL is left as it was.
    expect(out).toMatch(/^https:\/\/collector\.example\/c\?.*&v=2$/);
  });

  it('redacts the escaped run, leaving the parameters around it', () => {
    expect(scrubber.text(`a=1&q=%22${TOKENS.github}%22&b=2`)).toBe('a=1&[REDACTED:github-pat]&b=2');
  });

  it('is redacted where the same token also stands plainly in the run and was found there', () => {
    const out = scrubber.text(`v=${TOKENS.github}%20${TOKENS.github}`);
    expect(out).not.toContain(TOKENS.github);
  });

  it('leaves a token the text itself redacted as precisely as before', () => {
    // The run holds an escape, but the token is found above with its own span: only it is replaced.
    expect(scrubber.text(`q=%20x "${TOKENS.github}"`)).toBe('q=%20x "[REDACTED:github-pat]"');
  });
});

describe('a long escaped run of one token repeated', () => {
  /** `length` characters: an escape, then the same token over and over, all one run. */
  const repeated = (length: number) => {
    let out = '%20x';
    while (out.length < length) out += `-${TOKENS.github}`;
    return out;
  };
  const scrubCpuMs = (text: string) => cpuMs(() => createScrubber().text(text));

  it('is scrubbed in time linear in its length (8x the text: under 24x the CPU, where quadratic is 64x)', () => {
    // Searching the run for each match's text made this quadratic: 256 KiB took 4.7 s.
    const small = repeated(128 * 1024);
    const large = repeated(1024 * 1024);
    scrubCpuMs(small);
    const ratio =
      Math.min(scrubCpuMs(large), scrubCpuMs(large)) / Math.min(scrubCpuMs(small), scrubCpuMs(small));
    expect(ratio).toBeLessThan(24);
    expect(createScrubber().text(large)).not.toContain(TOKENS.github);
  }, 60_000);
});
