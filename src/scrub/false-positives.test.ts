/**
 * Ordinary output an agent reads must come back as it was: no rule may redact it, and no rule's
 * work budget may run out on it (past the budget a rule redacts unchecked, see engine.ts).
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
});
