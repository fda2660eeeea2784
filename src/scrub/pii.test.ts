import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { createScrubber } from './index.js';
import { DEFAULT_PII_ACTIONS, ibanValid, luhnValid, PII_DETECTORS, type PiiActions } from './pii.js';
import { compilePii, scanPii } from './pii-scan.js';
import { maxMatchLength } from './regex-safety.js';
import type { Span } from './spans.js';

const CARD = '4242 4242 4242 4242';
const IBAN = 'DE89 3704 0044 0532 0130 00';

describe('checksums', () => {
  it('luhnValid accepts a valid card number and rejects a one-digit change', () => {
    expect(luhnValid('4242424242424242')).toBe(true);
    expect(luhnValid('4242424242424243')).toBe(false);
  });

  it('ibanValid accepts a valid IBAN and rejects a changed check digit', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE88370400440532013000')).toBe(false);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
  });
});

describe('PII defaults', () => {
  const scrubber = createScrubber();

  it('redact payment cards', () => {
    expect(scrubber.text(`card ${CARD} exp 12/29`)).toBe('card [REDACTED:card] exp 12/29');
  });

  it('leave a card-shaped number that fails the Luhn check', () => {
    expect(scrubber.text('order 4242 4242 4242 4243')).toBe('order 4242 4242 4242 4243');
  });

  it('find a card followed by more digits', () => {
    expect(scrubber.text('4242424242424242 2029')).toBe('[REDACTED:card] 2029');
  });

  it('redact IBANs, spaced or not', () => {
    expect(scrubber.text(`pay to ${IBAN}.`)).toBe('pay to [REDACTED:iban].');
    expect(scrubber.text('GB82WEST12345698765432')).toBe('[REDACTED:iban]');
  });

  it('leave an IBAN-shaped string with a wrong checksum', () => {
    expect(scrubber.text('DE88 3704 0044 0532 0130 00')).toBe('DE88 3704 0044 0532 0130 00');
  });

  it('redact US SSNs and UK national insurance numbers', () => {
    expect(scrubber.text('ssn 123-45-6789')).toBe('ssn [REDACTED:national_id]');
    expect(scrubber.text('NINO AB 12 34 56 C')).toBe('NINO [REDACTED:national_id]');
  });

  it('leave never-issued SSN shapes and dates alone', () => {
    expect(scrubber.text('000-12-3456 666-12-3456 2026-11-24')).toBe('000-12-3456 666-12-3456 2026-11-24');
  });

  it('allow emails and phone numbers', () => {
    const text = 'mail jane.doe@example.com or call +44 20 7946 0958';
    expect(scrubber.text(text)).toBe(text);
  });
});

describe('PII actions', () => {
  const masking = createScrubber({
    pii: { email: 'mask', phone: 'mask', card: 'mask', iban: 'mask', national_id: 'mask' },
  });

  it('mask keeps the last four digits of a card', () => {
    expect(masking.text(`card ${CARD}`)).toBe('card **** **** **** 4242');
  });

  it('mask keeps the first letter and the domain of an email', () => {
    expect(masking.text('from jane.doe@example.com')).toBe('from j***@example.com');
  });

  it('mask keeps the country and the last four characters of an IBAN', () => {
    expect(masking.text(IBAN)).toBe('DE** **** **** **** **30 00');
  });

  it('mask keeps the last two digits of a phone number', () => {
    expect(masking.text('call +44 20 7946 0958')).toBe('call +** ** **** **58');
  });

  it('mask keeps the last four digits of an SSN', () => {
    expect(masking.text('123-45-6789')).toBe('***-**-6789');
  });

  it('redact on email and phone uses the kind as marker', () => {
    const strict = createScrubber({ pii: { email: 'redact', phone: 'redact' } });
    expect(strict.text('jane@example.com (555) 123-4567')).toBe('[REDACTED:email] [REDACTED:phone]');
  });

  it('withPii derives a scrubber with other actions that shares known secrets', () => {
    const base = createScrubber({ secrets: ['shared-secret-77'] });
    const masking = base.withPii({ card: 'mask' });
    base.addSecrets(['added-later-88']);
    expect(masking.text(`${CARD} shared-secret-77 added-later-88`)).toBe(
      '**** **** **** 4242 [REDACTED:secret] [REDACTED:secret]',
    );
    expect(base.text(CARD)).toBe('[REDACTED:card]');
  });

  it('allow on cards leaves them', () => {
    expect(createScrubber({ pii: { card: 'allow' } }).text(CARD)).toBe(CARD);
  });

  it('a phone shape needs a + or North American punctuation, not just digits', () => {
    const strict = createScrubber({ pii: { phone: 'redact' } });
    expect(strict.text('order 20261124123456')).toBe('order 20261124123456');
  });
});

describe('PII detectors', () => {
  it('declare a stream window at least as long as their longest match', () => {
    for (const d of PII_DETECTORS) {
      expect(maxMatchLength(d.pattern) + (d.prefix?.max ?? 0), d.kind).toBeLessThanOrEqual(d.maxLength);
    }
  });
});

describe('runs the scan skips', () => {
  // pii-scan.ts runs a detector with `minRun` only over runs of its alphabet that long: that is
  // sound only if every match is such a run. Checked on text made of the shapes' pieces.
  const pieces = [
    CARD,
    IBAN,
    '4111-1111-1111-1111',
    'GB82WEST12345698765432',
    '123-45-6789',
    'AB 12 34 56 C',
  ];
  pieces.push('AB123456C', '+44 20 7946 0958', '(555) 123-4567', '555-123-4567', ' ', '-', '.', ',');
  pieces.push('x', 'Z', '0', '7', '(', '+', '%41', '\n');
  it('every match of a detector with minRun is a run of its alphabet at least that long', () => {
    const rng = seeded(7);
    let checked = 0;
    for (let t = 0; t < 3000; t++) {
      const text = rng.text(pieces, 12);
      for (const d of PII_DETECTORS) {
        if (d.minRun === undefined) continue;
        for (const match of text.matchAll(new RegExp(d.pattern, 'g'))) {
          expect(match[0].length, `${d.kind}: ${match[0]}`).toBeGreaterThanOrEqual(d.minRun);
          for (const ch of match[0]) expect(d.alphabet.test(ch), `${d.kind}: ${match[0]}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('every match of a detector with a start gate begins where the gate lets it', () => {
    const edges = ['GB04WEST12345610000002', '2221000000000009', '6011111111111117', '378282246310005'];
    edges.push('ZY 98 76 54 D', 'CE123456A', '899-01-2345', '001-01-0001');
    const all = [...pieces, ...edges];
    const rng = seeded(11);
    let checked = 0;
    for (let t = 0; t < 3000; t++) {
      const text = rng.text(all, 12);
      for (const d of PII_DETECTORS) {
        if (!d.starts) continue;
        for (const match of text.matchAll(new RegExp(d.pattern, 'g'))) {
          for (const [k, chars] of d.starts.chars.entries()) {
            expect(chars.test(match[0][k] ?? ''), `${d.kind}: ${match[0]}`).toBe(true);
          }
          if (match.index > 0)
            expect(d.starts.notAfter.test(text[match.index - 1]!), `${d.kind}: ${match[0]}`).toBe(false);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  /** Each detector's pattern searched through the whole text (as before runs and start gates) against scanPii. */
  function sameAsWholeTextSearch(text: string, profile: Profile = DEFAULTS): number {
    const { actions, set } = profile;
    const expected: string[] = [];
    for (const d of PII_DETECTORS) {
      if (actions[d.kind] === 'allow') continue;
      const regex = new RegExp(d.pattern, 'g');
      for (let match = regex.exec(text); match; match = regex.exec(text)) {
        const length = d.refine(match[0]);
        if (length > 0) expected.push(`${d.kind} ${match.index} ${match.index + length}`);
        regex.lastIndex = match.index + Math.max(1, length);
      }
    }
    const spans: Span[] = [];
    scanPii(text, set, spans, { piiExecutions: 0, windowChars: 0, failedClosed: 0 }, 1e9, false);
    const actual = spans.map((s) => `${s.marker.slice(10, -1)} ${s.start} ${s.end}`);
    expect(actual.sort(), text).toEqual(expected.sort());
    return expected.length;
  }
  /** The actions and the set compiled from them, compiled once for all texts. */
  interface Profile {
    actions: PiiActions;
    set: ReturnType<typeof compilePii>;
  }
  const profile = (actions: PiiActions): Profile => ({ actions, set: compilePii(actions) });
  const DEFAULTS = profile(DEFAULT_PII_ACTIONS);
  // Email left out: its match takes a prefix (the local part) that the pattern does not.
  const PHONE_ON = profile({ ...DEFAULT_PII_ACTIONS, phone: 'redact' });

  it('finds exactly what a search of the whole text with each pattern finds', () => {
    // Texts of PII pieces between base64, hex, paths and JSON punctuation.
    const noise = [
      '/srv/repo/src/module-4/file-12.ts',
      '2fca944fb7a65c20cdcb7e63af18',
      'O3yKn4OmofkN78t+9/ljbje1lC3E',
    ];
    noise.push('\\"', '":"', 'SELECT ID FROM T WHERE X = 1', 'AB', 'Q1', '9', 'DE8', '-', ' ');
    // Each first character a gate must let through: check digits 0x, cards from 2 to 6, NINO
    // letters and SSN areas across their ranges.
    const edges = ['GB04WEST12345610000002', '2221000000000009', '6011111111111117', '378282246310005'];
    edges.push('ZY 98 76 54 D', 'CE123456A', '899-01-2345', '001-01-0001');
    const all = [...pieces, ...noise, ...edges, '4242424242424242', 'DE89370400440532013000', 'QQ123456C'];
    const rng = seeded(13);
    let found = 0;
    for (let t = 0; t < 2000; t++) found += sameAsWholeTextSearch(rng.text(all, 10));
    expect(found).toBeGreaterThan(500);
  });

  it('finds exactly what a search of the whole text finds with phone numbers on, among dashes and dots', () => {
    // Phone numbers go through the start gates too: each shape beside runs of `-`, `.`, `(` and
    // `+` (PEM headers, rule lines, version numbers) and the other kinds' pieces.
    const phones = [
      '+44 20 7946 0958',
      '(555) 123-4567',
      '555-123-4567',
      '555.123.4567',
      '+1 (555) 123 4567',
    ];
    const around = [
      '-----',
      '.....',
      '(((',
      '+',
      '++1',
      ' ',
      'x',
      '1.2.3',
      'BEGIN PRIVATE KEY',
      '@',
      'a.b@c.io',
    ];
    const all = [
      ...pieces,
      ...phones,
      ...around,
      '4242424242424242',
      'GB82WEST12345698765432',
      '123-45-6789',
    ];
    const rng = seeded(31);
    let found = 0;
    for (let t = 0; t < 3000; t++) found += sameAsWholeTextSearch(rng.text(all, 10), PHONE_ON);
    expect(found).toBeGreaterThan(1000);
  });

  it('finds exactly what the whole-text search finds among short runs of the alphabets (a page of keys)', () => {
    // Runs of [0-9A-Z -] one to fourteen long, cut by lower-case letters, some just short of a
    // detector's minimum: the probe skips past the runs too short to hold a match.
    const rng = seeded(29);
    const short = () => rng.text('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -', 1 + rng.int(14));
    const key = () => `sk-${rng.text('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 24)} `;
    let found = 0;
    for (let t = 0; t < 3000; t++) {
      const parts = Array.from({ length: 12 }, () =>
        rng.int(4) === 0 ? rng.pick(pieces) : rng.int(2) === 0 ? `${short()}${rng.pick('abcxyz')}` : key(),
      );
      found += sameAsWholeTextSearch(parts.join(''));
    }
    expect(found).toBeGreaterThan(300);
  });

  it('finds PII at the very start and end of a text and inside JSON next to paths and base64', () => {
    const scrubber = createScrubber();
    for (const value of [CARD, IBAN, 'GB82WEST12345698765432', '123-45-6789', 'AB123456C', 'AB 12 34 56 C']) {
      for (const text of [
        value,
        `${value}\n`,
        `x:${value}`,
        `{"path":"/srv/repo/src/a.ts","iban":"${value}","thumb":"O3yKn4OmofkN78t89+ljbje1lC3E/mwK"}`,
        JSON.stringify(
          JSON.stringify([
            { path: '/srv/a/b-1.ts', id: value, sha: '2fca944fb7a65c20cdcb7e63af1821755f427937' },
          ]),
        ),
      ]) {
        const out = scrubber.text(text);
        expect(out.includes(value), `${value} in ${text}`).toBe(false);
        expect(out, text).toMatch(/\[REDACTED:(card|iban|national_id)\]/);
      }
    }
  });

  it('finds a card, an IBAN and an SSN between hostile runs of escapes and digits', () => {
    const noise = '%41'.repeat(3000);
    const out = createScrubber().text(`${noise} ${CARD} ${noise}\n${IBAN}\n${noise} 123-45-6789 x`);
    expect(out.includes(CARD)).toBe(false);
    expect(out.includes(IBAN)).toBe(false);
    expect(out.includes('123-45-6789')).toBe(false);
    expect(out.match(/\[REDACTED:(card|iban|national_id)\]/g)).toHaveLength(3);
  });
});
