import { describe, expect, it } from 'vitest';
import { knownSecretForms } from './encodings.js';
import { createScrubber } from './index.js';

const SECRET = 'pa55/word+Tok3n?é';

function containsAForm(text: string): boolean {
  return knownSecretForms(SECRET).some((form) => text.includes(form));
}

describe('knownSecretForms', () => {
  it('includes the raw secret', () => {
    expect(knownSecretForms(SECRET)).toContain(SECRET);
  });

  it('covers base64 of the secret at every offset inside a larger payload', () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'user:']) {
      const encoded = Buffer.from(`${prefix}${SECRET}-tail`).toString('base64');
      expect(containsAForm(encoded), `prefix ${JSON.stringify(prefix)}`).toBe(true);
    }
  });

  it('covers base64url of the secret at every offset', () => {
    for (const prefix of ['', 'x', 'xy']) {
      const encoded = Buffer.from(`${prefix}${SECRET}`).toString('base64url');
      expect(containsAForm(encoded), `prefix ${JSON.stringify(prefix)}`).toBe(true);
    }
  });

  it('covers URL encoding with upper- and lower-case escapes and form encoding', () => {
    const upper = encodeURIComponent(SECRET);
    expect(containsAForm(`?token=${upper}`)).toBe(true);
    expect(containsAForm(encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()))).toBe(
      true,
    );
    expect(knownSecretForms('with space').includes('with+space')).toBe(true);
  });

  it('covers hex in both cases', () => {
    const hex = Buffer.from(SECRET).toString('hex');
    expect(containsAForm(hex)).toBe(true);
    expect(containsAForm(hex.toUpperCase())).toBe(true);
  });

  it('covers JSON-escaped forms, including escaped slashes and \\u escapes', () => {
    const secret = 'quo"te\\back/slash-é';
    const forms = knownSecretForms(secret);
    expect(forms).toContain(JSON.stringify(secret).slice(1, -1));
    expect(forms).toContain('quo\\"te\\\\back\\/slash-é');
    expect(forms).toContain('quo\\"te\\\\back/slash-\\u00e9');
  });

  it('never yields an empty form', () => {
    expect(knownSecretForms('x').every((f) => f.length > 0)).toBe(true);
  });
});

describe('a hex key or a UUID printed back by a service', () => {
  const hexKey = 'a3f9c2e18b7d4f60a3f9c2e18b7d4f60';
  const uuidKey = '3f2a9c1e-8b7d-4f60-a3f9-c2e18b7d4f60';
  const scrubber = createScrubber({ secrets: [hexKey, uuidKey] });
  const PRINTED: Record<string, string> = {
    'the hex key upper-case': hexKey.toUpperCase(),
    'the hex key as a UUID': `${hexKey.slice(0, 8)}-${hexKey.slice(8, 12)}-${hexKey.slice(12, 16)}-${hexKey.slice(16, 20)}-${hexKey.slice(20)}`,
    'the UUID upper-case': uuidKey.toUpperCase(),
    'the UUID without dashes': uuidKey.replace(/-/g, ''),
    'the UUID without dashes, upper-case': uuidKey.replace(/-/g, '').toUpperCase(),
  };
  for (const [name, printed] of Object.entries(PRINTED)) {
    it(`is redacted as ${name}`, () => {
      expect(scrubber.text(`key ${printed} not found`)).toBe('key [REDACTED:secret] not found');
    });
  }
});
