/**
 * ReDoS resistance measured as work, not time: the scrubber counts anchor hits
 * and regex executions, and every pattern passes the regex-safety lint (so one
 * execution reads a bounded window). Together these bound the total work
 * linearly; the tests fail if a rule starts scanning the text on its own or if
 * work grows faster than the input.
 */
import { describe, expect, it } from 'vitest';
import { createScrubber } from './index.js';
import { PII_DETECTORS } from './pii.js';
import { regexSafetyProblems } from './regex-safety.js';
import { BUILTIN_RULES } from './rules/index.js';

const SIZE = 100 * 1024;

/** Near-misses: a rule anchor followed by almost (but not quite) a match, repeated. */
const NEAR_MISSES: Record<string, string> = {
  anchors:
    'ghp_Ab1Cd2Ef3 sk-ant-api03-xx AKIA12 eyJhbGciOi. -----BEGIN PRIVATE KEY----- password= https://u:p ',
  jwt: 'eyJ'.padEnd(390, 'a'),
  jwtRun: 'eyJa',
  pem: '-----BEGIN PRIVATE KEY-----',
  assignment: 'password=aaaaaaaaaaaaaaaaaaaa ',
  url: 'https://user:',
  digits: '4242 4242 4242 424',
  letters: 'DE89 3704 0044 0532 0130 0',
  emailish: 'a.b.c.d.e.f.g@h',
};

function repeatTo(unit: string, size: number): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

describe('adversarial inputs', () => {
  it('every rule and PII pattern passes the linear-regex lint', () => {
    for (const rule of BUILTIN_RULES) expect(regexSafetyProblems(rule.pattern), rule.id).toEqual([]);
    for (const d of PII_DETECTORS) expect(regexSafetyProblems(d.pattern), d.kind).toEqual([]);
  });

  for (const [name, unit] of Object.entries(NEAR_MISSES)) {
    it(`runs at most one regex per anchor hit on 100 KB of ${name} near-misses`, () => {
      const scrubber = createScrubber({ pii: { email: 'redact', phone: 'redact' } });
      scrubber.text(repeatTo(unit, SIZE));
      const { anchorHits, ruleExecutions, piiExecutions } = scrubber.stats;
      expect(ruleExecutions).toBeLessThanOrEqual(anchorHits);
      // PII patterns run once per candidate start at most, plus one final miss per detector.
      expect(piiExecutions).toBeLessThanOrEqual(SIZE + PII_DETECTORS.length);
    });

    it(`does work proportional to the input on ${name} near-misses`, () => {
      const work = (size: number) => {
        const scrubber = createScrubber({ pii: { email: 'redact', phone: 'redact' } });
        scrubber.text(repeatTo(unit, size));
        return scrubber.stats.ruleExecutions + scrubber.stats.piiExecutions + scrubber.stats.anchorHits;
      };
      const small = work(SIZE);
      const large = work(4 * SIZE);
      expect(large).toBeLessThanOrEqual(4 * small + 64);
    });
  }

  it('runs no rule regex over text without anchors', () => {
    const scrubber = createScrubber({ pii: { card: 'allow', iban: 'allow', national_id: 'allow' } });
    scrubber.text(repeatTo('the quick brown fox jumps over the lazy dog ', SIZE));
    expect(scrubber.stats.anchorHits).toBe(0);
    expect(scrubber.stats.ruleExecutions).toBe(0);
  });

  it('runs a rule once for anchor hits inside its own earlier match', () => {
    const scrubber = createScrubber();
    const body = repeatTo('-----BEGIN PRIVATE KEY----- ', 8000);
    scrubber.text(body);
    expect(scrubber.stats.ruleExecutions).toBeLessThan(10);
  });

  it.each([
    ['token= repeated', 'token='],
    ['sk- repeated', 'sk-'],
    ['eyJa repeated', 'eyJa'],
    ['password= with a low-entropy value', 'password=aaaaaaaaaaaaaaaaaaaa'],
    ['card-like digit groups', '4242 4242 4242 424 '],
  ])('reads a bounded number of characters per input character on %s', (_name, unit) => {
    // Linear with a small constant: each rule and PII detector has a work budget per scan
    // (about one character re-read per input character), past which it fails closed.
    const scrubber = createScrubber();
    scrubber.text(repeatTo(unit, 4 * SIZE));
    expect(scrubber.stats.windowChars).toBeLessThan(12 * 4 * SIZE);
    expect(scrubber.stats.failedClosed).toBeGreaterThan(0);
  });

  it('redacts the rest of a hostile run of anchors once its rule is over budget', () => {
    const scrubber = createScrubber();
    const out = scrubber.text(`${repeatTo('token=', 4 * SIZE)} done`);
    expect(out.length).toBeLessThan(SIZE);
    expect(out.endsWith(' done')).toBe(true);
    expect(out).toContain('[REDACTED:generic-secret-assignment]');
  });

  it('never fails closed on dense but ordinary assignments', () => {
    const scrubber = createScrubber();
    const lines = Array.from(
      { length: 20_000 },
      (_, i) =>
        `{"token":"tok_${(i * 7919).toString(36).padStart(8, 'x')}","user":"u${i}","password":"changeme"}`,
    );
    scrubber.text(lines.join('\n'));
    expect(scrubber.stats.failedClosed).toBe(0);
  });
});

/**
 * Past its budget a rule stops checking candidates, but what it redacts must still cover every
 * secret it could have found: a flood of anchors first, then real secrets, must not leak them.
 */
describe('a scan past its work budget', () => {
  const anchors = ['token=', 'sk-', 'ghp_', 'AKIA', 'pat', 'xoxb-', 'eyJ', 'password: ', '%41', 'Q~', '|'];
  const manyRules = repeatTo(anchors.join(''), 2 * SIZE);
  const oneRule = repeatTo('token=', 2 * SIZE);
  const value = 'hunter2-Correct-Horse-9';
  const aws = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

  it.each([
    ['JSON', `{"password": "${value}"}`, value],
    ['JSON with no space', `{"db_password":"${value}"}`, value],
    ['an env file', `PASSWORD="${value}"`, value],
    ['YAML', `password: ${value}`, value],
    ['a shell export', `export DB_PASSWORD='${value}'`, value],
    ['an AWS credentials file', `aws_secret_access_key = "${aws}"`, aws],
    ['a spaced assignment', `token = "${value}"`, value],
    [
      'a GitHub token',
      'ghp_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA1',
      'ghp_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA1',
    ],
    ['URL credentials', `https://deploy:${value}@git.example.com/repo.git`, value],
  ])('still redacts a secret in %s after a flood of anchors of many rules', (_name, line, secret) => {
    const scrubber = createScrubber();
    expect(scrubber.text(line)).not.toContain(secret);
    const out = scrubber.text(`${manyRules}\n${line}\n`);
    expect(scrubber.stats.failedClosed).toBeGreaterThan(0);
    expect(out).not.toContain(secret);
  });

  it('still redacts a secret after a flood of one rule’s anchor', () => {
    const scrubber = createScrubber();
    const out = scrubber.text(`${oneRule}\n{"password": "${value}", "token": "${value}x"}\n`);
    expect(scrubber.stats.failedClosed).toBeGreaterThan(0);
    expect(out).not.toContain(value);
  });

  it('redacts key characters glued to a failed-closed `sk-` flood through the end of their run', () => {
    // The key is the tail of the flood's run, which the failed executions before read to its end:
    // the run a rule failing closed redacts.
    const key = 'Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9';
    const scrubber = createScrubber();
    const out = scrubber.text(`${repeatTo('sk-', 2 * SIZE)}sk-${key} done`);
    expect(scrubber.stats.failedClosed).toBeGreaterThan(0);
    expect(out).not.toContain(key.slice(-12));
    expect(out.endsWith('] done')).toBe(true);
  });

  it('redacts a key after a failed-closed `sk-` flood, in a run of its own, through its end', () => {
    const key = 'Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9';
    const scrubber = createScrubber();
    const out = scrubber.text(`${repeatTo('sk-', 2 * SIZE)} sk-${key}-${key.toLowerCase()}`);
    expect(scrubber.stats.failedClosed).toBeGreaterThan(1);
    expect(out).not.toContain(key.slice(-12));
    expect(out).not.toContain(key.toLowerCase().slice(-12));
  });

  it('redacts encoded runs whole and unchecked, without decoding them, once the scan is past its total budget', () => {
    const token = 'ghp_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA1';
    const encoded = [
      Buffer.from(`GITHUB_TOKEN=${token}`).toString('base64'),
      encodeURIComponent(`token=${token}`).replace(/_/g, '%5F'),
      Buffer.from(token).toString('hex'),
    ];
    const scrubber = createScrubber();
    // Within budget: each run is decoded, and named by what it carried.
    const plain = scrubber.text(encoded.join('\n\n'));
    for (const run of encoded) expect(plain).not.toContain(run);
    expect(plain).not.toContain('[REDACTED:encoded]');
    // Past it: each is still redacted (nothing leaks), unchecked.
    const before = scrubber.stats.failedClosed;
    const out = scrubber.text(`${manyRules}\n\n${encoded.join('\n\n')}\n`);
    for (const run of encoded) expect(out).not.toContain(run);
    expect(out).toContain('[REDACTED:encoded]');
    expect(scrubber.stats.failedClosed - before).toBeGreaterThan(encoded.length);
  });

  it('redacts overlapping encoded runs past the budget as one span, and separate ones apart', () => {
    const scrubber = createScrubber();
    // A base64 run inside an escaped value: two runs, one span. Then a run on its own.
    const inside = `v=%41${Buffer.from('some bytes of a thumbnail').toString('base64')}`;
    const apart = Buffer.from('another thumbnail here, quite long').toString('base64');
    // Words between, longer than any rule's window: the flood's own failed-closed spans end there.
    const words = 'plain words between '.repeat(50);
    const out = scrubber.text(`${manyRules}\n${words}\n${inside} ${apart} end`);
    expect(out.slice(-60)).toBe(`${words}\n[REDACTED:encoded] [REDACTED:encoded] end`.slice(-60));
  });

  it('leaves the encoded runs of ordinary text to their decoded scan (never redacted unchecked)', () => {
    const scrubber = createScrubber();
    const lines = Array.from({ length: 5_000 }, (_, i) => {
      const thumb = Buffer.from(`thumbnail ${i} of the release notes`).toString('base64');
      return `{"path":"/srv/a%20b/${i}.png","thumb":"${thumb}","token":"${(i * 7919).toString(36)}"}`;
    });
    const text = lines.join('\n');
    expect(scrubber.text(text)).toBe(text);
    expect(scrubber.stats.failedClosed).toBe(0);
  });
});
