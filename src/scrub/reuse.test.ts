/**
 * The scan keeps buffers between calls (span triples per decoding level, the decoded runs'
 * text and places, code units) and answers a text with no encoded run with one shared value:
 * none of it may carry one call's data into another's answer.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from './engine.js';
import type { Detection, Engine } from './engine-types.js';
import { createScrubber } from './index.js';
import { DEFAULT_PII_ACTIONS } from './pii.js';
import { BUILTIN_RULES } from './rules/index.js';

/** Token material built at runtime, so no credential-shaped literal sits in the source. */
const GH = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;
const AWS = `AKIA${'QZ7XK2MN'.repeat(2)}`;
const SECRET = 'configured-secret-value-42';
const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');
const pct = (text: string) =>
  [...text].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');

/** Small texts as sinks scrub them: plain, a raw token, and tokens one and two decodings deep. */
const SHORT = [
  'echo: m1234',
  JSON.stringify({ content: [{ type: 'text', text: 'echo: m1234' }] }),
  `token ${GH}`,
  `key=${AWS}`,
  `blob ${b64(`config: ${GH} end`)}`,
  `q=${pct(b64(`id ${AWS} x`))}`,
  `card 4242 4242 4242 4242 and ${SECRET}`,
  `url=a%20b&x=${b64('just some harmless words here')}`,
];

/** Long texts full of spans and encoded runs (some wide: `\u` escapes above Latin-1), nested too. */
const LONG = [
  Array.from({ length: 3000 }, (_, k) => `v${k}=${GH} ${b64(`x ${AWS} ${k}`)} %41${k}`).join('\n'),
  Array.from({ length: 2000 }, (_, k) => `a${k}=\\u4e2d\\u6587${pct(GH)} ${SECRET}`).join(';'),
  `${'token='.repeat(40_000)}${pct(b64(pct(GH)))}`,
];

function engine(): Engine {
  return createEngine({
    secrets: [SECRET],
    rules: BUILTIN_RULES,
    pii: { ...DEFAULT_PII_ACTIONS, card: 'mask' },
  });
}

const answers = (e: Engine, text: string): Detection[] => [
  e.detectMerged(text, false),
  e.detectMerged(text, true),
];

describe('buffers kept between scans', () => {
  // First, before any long text has grown or filled a kept buffer.
  const fresh = engine();
  const expected = SHORT.map((text) => answers(fresh, text));
  const freshText = createScrubber({ secrets: [SECRET], pii: { card: 'mask' } });
  const expectedText = SHORT.map((text) => freshText.text(text));

  it('give a short text the same spans and hold after a long secret-bearing one as in a fresh engine', () => {
    const used = engine();
    for (const long of LONG) {
      used.detectMerged(long, false);
      for (const [k, text] of SHORT.entries())
        expect(answers(used, text), `${k}: ${text}`).toEqual(expected[k]);
    }
  });

  it('give a short text the same output after a long one, on the engine that scanned it and on another', () => {
    const used = createScrubber({ secrets: [SECRET], pii: { card: 'mask' } });
    for (const long of LONG) {
      used.text(long);
      for (const [k, text] of SHORT.entries()) expect(used.text(text), text).toBe(expectedText[k]);
      for (const [k, text] of SHORT.entries()) expect(freshText.text(text), text).toBe(expectedText[k]);
    }
  });

  it('redact the tokens of the short texts, one and two decodings deep', () => {
    expect(expectedText[2]).toBe('token [REDACTED:github-pat]');
    expect(expectedText[4]).toBe('blob [REDACTED:github-pat]');
    expect(expectedText[5]).toBe('[REDACTED:aws-access-key-id]');
    expect(expectedText[6]).toBe('card **** **** **** 4242 and [REDACTED:secret]');
  });

  it('keep a streamed short text after a long one as a fresh stream does', () => {
    const stream = (s: ReturnType<typeof createScrubber>, text: string) => {
      const st = s.stream();
      return st.push(text) + st.flush();
    };
    const used = createScrubber({ secrets: [SECRET], pii: { card: 'mask' } });
    const other = createScrubber({ secrets: [SECRET], pii: { card: 'mask' } });
    const before = SHORT.map((text) => stream(other, text));
    for (const long of LONG) stream(used, long);
    for (const [k, text] of SHORT.entries()) expect(stream(used, text), text).toBe(before[k]);
  });
});
