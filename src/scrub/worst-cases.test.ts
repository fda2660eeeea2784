/**
 * The throughput bench's worst-case inputs (bench/scrub-throughput.ts) with secrets planted in
 * them: whatever the scan does to stay fast there (work budgets shared across decoding levels,
 * failing closed, PII patterns only over long enough runs), a secret inside such text must still
 * be redacted. Planted near the start, in the middle and near the end, as raw text and encoded.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openAiShapedKey } from '../../test/helpers/fake-keys.js';
import { seeded } from '../../test/helpers/seeded.js';
import { createScrubber } from './index.js';

const SIZE = 256 * 1024;
const GH = `ghp_${'Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2'}${'Jh1Gf0EdCbA1'}`;
const AWS = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const PASSWORD = 'hunter2-Correct-Horse-9';
const CONFIGURED = 'Qm9vdHN0cmFwLXNlY3JldC0xMjM0NQ';
const CARD = '4242 4242 4242 4242';
const MANY = ['token=', 'sk-', 'ghp_', 'AKIA', 'pat', 'xoxb-', 'eyJ', 'password: ', '%41', 'Q~', '|'];

function repeatTo(unit: string, size: number): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** `lines` inserted into `text` at a tenth, half and nine tenths, each on a line of its own. */
function plant(text: string, lines: readonly string[]): string {
  const at = [0.1, 0.5, 0.9].map((f) => Math.floor(text.length * f));
  let out = '';
  let from = 0;
  at.forEach((cut, k) => {
    out += `${text.slice(from, cut)}\n${lines[k % lines.length]}\n`;
    from = cut;
  });
  return out + text.slice(from);
}

const PLAIN = [
  `{"password": "${PASSWORD}"}`,
  GH,
  `aws_secret_access_key = "${AWS}"`,
  `using ${CONFIGURED} upstream`,
  `card ${CARD} on file`,
];

const hostile: Record<string, string> = {
  '`token=` repeated': repeatTo('token=', SIZE),
  'anchors of many rules every few bytes': repeatTo(MANY.join(''), SIZE),
  '`%41` repeated': repeatTo('%41', SIZE),
  'one long base64 run': randomBytes((SIZE * 3) / 4).toString('base64'),
  'base64 lines of 76': (
    randomBytes((SIZE * 3) / 4)
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join('\r\n'),
};

describe('secrets planted inside worst-case inputs', () => {
  const scrubber = createScrubber({ secrets: [CONFIGURED] });

  for (const [name, text] of Object.entries(hostile)) {
    for (const line of PLAIN) {
      it(`redacts ${line.slice(0, 24)}… planted three times in ${name}`, () => {
        const out = scrubber.text(plant(text, [line, line, line]));
        for (const secret of [PASSWORD, GH, AWS, CONFIGURED, CARD]) {
          expect(out.includes(secret), secret).toBe(false);
        }
      });
    }
  }

  it('names the GitHub token found inside `%41` and base64 floods (checked, not failed closed)', () => {
    for (const name of ['`%41` repeated', 'one long base64 run', 'base64 lines of 76']) {
      const out = scrubber.text(plant(hostile[name]!, [GH]));
      expect(out.match(/\[REDACTED:github-pat\]/g), name).toHaveLength(3);
    }
  });

  it('redacts a token percent-encoded inside a `%41` flood', () => {
    const encoded = [...GH].map((ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`).join('');
    const text = plant(hostile['`%41` repeated']!, [`x=%20${encoded}%20`]);
    const out = scrubber.text(text);
    expect(out.includes(encoded)).toBe(false);
    expect(out).toContain('[REDACTED:github-pat]');
  });

  it('redacts a token base64-encoded inside a long base64 run', () => {
    const run = hostile['one long base64 run']!;
    // On a quantum boundary inside the run, between spaces so the decoded token stands alone.
    const token = Buffer.from(` ${GH} `).toString('base64');
    const cut = Math.floor(run.length / 8) * 4;
    const out = scrubber.text(`${run.slice(0, cut)}${token}${run.slice(cut)}`);
    expect(out.includes(token)).toBe(false);
    expect(out).toContain('[REDACTED:github-pat]');
  });

  it('redacts secrets after a flood of many rules’ anchors that exhausted the work budget', () => {
    const flood = repeatTo(MANY.join(''), SIZE);
    const out = scrubber.text(`${flood}\n${PLAIN.join('\n')}\n`);
    expect(scrubber.stats.failedClosed).toBeGreaterThan(0);
    for (const secret of [PASSWORD, GH, AWS, CONFIGURED, CARD])
      expect(out.includes(secret), secret).toBe(false);
  });
});

/** `length` characters of real-looking keys (`sk-` and 24 letters and digits), one every 28. */
function pageOfKeys(length: number): string {
  const rng = seeded(length);
  let out = '';
  while (out.length < length) out += `${openAiShapedKey(rng)} `;
  return out.slice(0, length);
}

/** CPU milliseconds of the fastest of three scrubs of `text`. */
function cpuMs(scrubber: ReturnType<typeof createScrubber>, text: string): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    scrubber.text(text);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

describe('a page of real keys, every one redacted', () => {
  it('is scrubbed in time linear in its length (8x the text: under 24x the CPU, where quadratic is 64x)', () => {
    // Each key is also a short encoded-looking run; a per-run search that read on past the run
    // (to the text's end when no `/` follows) made this quadratic: 4 MiB took seconds.
    const scrubber = createScrubber();
    const small = JSON.parse(JSON.stringify(pageOfKeys(128 * 1024))) as string;
    const large = JSON.parse(JSON.stringify(pageOfKeys(1024 * 1024))) as string;
    scrubber.text(small);
    const ratio = cpuMs(scrubber, large) / cpuMs(scrubber, small);
    expect(ratio).toBeLessThan(24);
    // Every whole key on the page (the last may be cut short).
    expect(scrubber.text(large).match(/\[REDACTED:openai-api-key\]/g)?.length).toBe(
      Math.floor((1024 * 1024) / 28),
    );
  }, 60_000);
});
