import { describe, expect, it } from 'vitest';
import { createScrubber } from './index.js';
import { ibanValid, luhnValid, PII_DETECTORS } from './pii.js';
import { maxMatchLength } from './regex-safety.js';

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
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    let checked = 0;
    for (let t = 0; t < 3000; t++) {
      let text = '';
      for (let k = 0; k < 12; k++) text += pieces[Math.floor(next() * pieces.length)];
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

  it('finds a card, an IBAN and an SSN between hostile runs of escapes and digits', () => {
    const noise = '%41'.repeat(3000);
    const out = createScrubber().text(`${noise} ${CARD} ${noise}\n${IBAN}\n${noise} 123-45-6789 x`);
    expect(out.includes(CARD)).toBe(false);
    expect(out.includes(IBAN)).toBe(false);
    expect(out.includes('123-45-6789')).toBe(false);
    expect(out.match(/\[REDACTED:(card|iban|national_id)\]/g)).toHaveLength(3);
  });
});
