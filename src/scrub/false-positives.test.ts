/**
 * Ordinary output an agent reads must come back as it was: no rule may redact it, and no rule's
 * work budget may run out on it (past the budget a rule redacts unchecked, see scan-phase.ts).
 */
import { describe, expect, it } from 'vitest';
import { createScrubber } from './index.js';

const scrubber = createScrubber();

describe('ordinary output is left as it is', () => {
  it('a Markdown table of 30,000 rows (a `|` every few characters: a Facebook token’s anchor)', () => {
    const table = Array.from({ length: 30_000 }, (_, i) => `| ${i} | open | ${i % 7} | x |`).join('\n');
    expect(scrubber.text(table)).toBe(table);
  });

  it('a Markdown table with long numeric ids and hashes in its cells', () => {
    const rows = Array.from(
      { length: 5_000 },
      (_, i) => `| ${String(1e14 + i)} | ${(i * 2654435761).toString(16).padStart(8, '0')} | ok |`,
    );
    const table = ['| id | hash | state |', '|---|---|---|', ...rows].join('\n');
    expect(scrubber.text(table)).toBe(table);
  });

  it('a shell pipeline log with `|` between commands', () => {
    const log = Array.from({ length: 10_000 }, (_, i) => `$ cat f${i}.txt | grep -v x | wc -l\n${i}`).join(
      '\n',
    );
    expect(scrubber.text(log)).toBe(log);
  });

  it('an access log with two short `token=` parameters on every line', () => {
    const log = Array.from(
      { length: 5_000 },
      (_, i) => `GET /cb?token=${i}&state=x${i}&token=y&page=${i} 200`,
    ).join('\n');
    expect(scrubber.text(log)).toBe(log);
  });

  it('source code that reads a token from a call or an index', () => {
    const code = [
      'token = client.fetch_token(url, code=code)',
      'recursionToken = getRecursionIdentity(source);'.replace('get', 'this.get'),
      'const token = jwt.sign({ sub: user.id }, key);',
      'secret = os.environ["APP_SECRET"]',
      "api_key = self.settings.get('api_key')",
    ].join('\n');
    expect(scrubber.text(code)).toBe(code);
  });

  it('while a password with a bracket in it is still redacted', () => {
    expect(scrubber.text('PASSWORD=Summer(2024x!')).not.toContain('Summer(2024');
    expect(scrubber.text('password = "k8.Pz(Qm4!x"')).not.toContain('Pz(Qm4');
  });

  it('a shell script that formats dates in UTC (date -u +%H:%M:%S, not curl -u user:pass)', () => {
    const script = 'now=$(date -u +%Y-%m-%dT%H:%M:%SZ)\nlast=$(date -u +%s)';
    expect(scrubber.text(script)).toBe(script);
    expect(scrubber.text('curl -u deploy:Zq7Hw2Kp9x https://ci')).not.toContain('Zq7Hw2Kp9x');
  });

  it('base64 of binary with runs of zeros (EAAA… is not a Square token)', () => {
    const ones = Buffer.from([255, 255, 255]);
    const bytes = [Buffer.alloc(60), ones, Buffer.from([16]), Buffer.alloc(23), ones, Buffer.alloc(60)];
    const blob = Buffer.concat(bytes).toString('base64');
    expect(blob).toContain('////EAAA');
    expect(scrubber.text(`data:application/octet-stream;base64,${blob}`)).toContain(blob);
  });

  it('a commit URL whose hash starts with digits', () => {
    const url = 'https://github.com/o/r/commit/4539578763621486a9d20bd9274d86f23a01ab';
    expect(scrubber.text(url)).toBe(url);
    expect(scrubber.text('card 4539 5787 6362 1486 on file')).not.toContain('4539 5787 6362 1486');
  });

  it('configuration that reads a token from the environment', () => {
    const config = 'transport({ token: process.env.AXIOM_TOKEN, dataset: process.env.AXIOM_DATASET })';
    expect(scrubber.text(config)).toBe(config);
  });

  it('documentation whose examples hold placeholders (your-password, YOUR_API_TOKEN)', () => {
    const doc = "auth: { username: 'your-username', password: 'your-password' }\nAPI_TOKEN=YOUR_API_TOKEN_1";
    expect(scrubber.text(doc)).toBe(doc);
  });

  it('numbers with many decimals (test timings) and localised messages about tokens', () => {
    const timings = JSON.stringify({ duration: 6636.295847390128, other: 11.42424242424242 });
    expect(scrubber.text(timings)).toBe(timings);
    const messages = JSON.stringify({
      Unexpected_token_1012: '意外的權杖。',
      Invalid_token_7: '無効なトークンです',
    });
    expect(scrubber.text(messages)).toBe(messages);
  });
});
