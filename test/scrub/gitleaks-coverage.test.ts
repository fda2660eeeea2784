/**
 * Coverage of gitleaks' rule set (config/gitleaks.toml, 222 rules), checked
 * against samples derived from gitleaks' own regexes: each sample matches the
 * gitleaks rule it is listed under (checked with gitleaks' regex when the
 * table was generated), and each near-miss does not (one character short of
 * the token's shape, a placeholder, or a look-alike). The table pins which of
 * our rules names each leak, so a rule that stops firing, or fires on a
 * near-miss, fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILTIN_RULES, createScrubber } from '../../src/scrub/index.js';

interface Sample {
  gitleaks: string;
  rule: string;
  sample: string;
  secret: string;
  nearMiss: string | null;
}
const TABLE = JSON.parse(readFileSync(new URL('./gitleaks-coverage.json', import.meta.url), 'utf8')) as {
  gitleaksIds: string[];
  samples: Sample[];
};

/** gitleaks rules with no equivalent here, and why. */
const NOT_PORTED: Record<string, string> = {
  'pkcs12-file': 'matches a file path (*.p12), not text; the scrubber sees text only',
  'kubernetes-secret-yaml':
    'a YAML document structure (kind: Secret … data:) spanning lines; its base64 values are decoded and scanned by the rules',
};

// PII off: digit-only ids (Discord, Asana) must be named by their rule, not masked as card numbers.
const scrubber = createScrubber({
  pii: { card: 'allow', iban: 'allow', national_id: 'allow', email: 'allow', phone: 'allow' },
});

describe("gitleaks' rule set", () => {
  it('is covered rule by rule, except the listed non-text rules', () => {
    expect(TABLE.gitleaksIds).toHaveLength(222);
    const covered = new Set(TABLE.samples.map((s) => s.gitleaks));
    const uncovered = TABLE.gitleaksIds.filter((id) => !covered.has(id));
    expect(uncovered.sort()).toEqual(Object.keys(NOT_PORTED).sort());
    expect(TABLE.samples.length).toBe(220);
  });

  it('names only rules that exist', () => {
    const ids = new Set(BUILTIN_RULES.map((r) => r.id));
    for (const s of TABLE.samples) expect(ids.has(s.rule), `${s.gitleaks} → ${s.rule}`).toBe(true);
  });

  for (const s of TABLE.samples) {
    describe(s.gitleaks, () => {
      it(`is redacted as ${s.rule}`, () => {
        const out = scrubber.text(s.sample);
        expect(out).not.toContain(s.secret);
        expect(out).toContain(`[REDACTED:${s.rule}]`);
      });
      if (s.nearMiss !== null) {
        const nearMiss = s.nearMiss;
        it('leaves its near-miss to other rules', () => {
          expect(scrubber.text(nearMiss)).not.toContain(`[REDACTED:${s.rule}]`);
        });
      }
    });
  }
});

describe('keyword rules (anchored on the provider name)', () => {
  const hex64 = `${'c0ffee12deadbeef'.repeat(3)}0123456789abcdef`;
  it('match inside JSON-escaped text', () => {
    const out = scrubber.text(`{"result":"{\\"sentry_token\\":\\"${hex64}\\"}"}`);
    expect(out).not.toContain(hex64);
    expect(out).toContain('[REDACTED:sentry-access-token]');
  });

  it('keep the name and operator readable and redact only the value', () => {
    expect(scrubber.text(`SENTRY_TOKEN = '${hex64}'`)).toBe(
      "SENTRY_TOKEN = '[REDACTED:sentry-access-token]'",
    );
  });

  it('leave placeholders and low-entropy values alone', () => {
    for (const text of [
      `sentry_token = "${'x'.repeat(64)}"`,
      `twitter_api_key = "your_twitter_api_key_here"`,
      `discord_client_id = "000000000000000000"`,
    ]) {
      expect(scrubber.text(text)).toBe(text);
    }
  });

  it('need an assignment: a provider name next to a value in prose is not one', () => {
    const text = `the sentry docs mention ${hex64} as an example digest`;
    expect(scrubber.text(text)).toBe(text);
  });
});
