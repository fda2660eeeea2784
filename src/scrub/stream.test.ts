import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { createScrubber, REDACTED_SECRET } from './index.js';

const SECRET = 'cred-Zq8wLx3Pm1';
const GH = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;

function streamed(
  text: string,
  sizes: number[],
  secrets: string[] = [SECRET],
): { out: string; pieces: string[] } {
  const stream = createScrubber({ secrets }).stream();
  const pieces: string[] = [];
  let at = 0;
  let i = 0;
  while (at < text.length) {
    const size = sizes[i++ % sizes.length]!;
    pieces.push(stream.push(text.slice(at, at + size)));
    at += size;
  }
  pieces.push(stream.flush());
  return { out: pieces.join(''), pieces };
}

describe('stream()', () => {
  it('catches a known secret split at every possible boundary', () => {
    const text = `before ${SECRET} after`;
    for (let cut = 1; cut < text.length; cut++) {
      const stream = createScrubber({ secrets: [SECRET] }).stream();
      const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
      expect(out, `cut at ${cut}`).toBe(`before ${REDACTED_SECRET} after`);
    }
  });

  it('catches a secret delivered one character at a time', () => {
    expect(streamed(`x ${SECRET} y`, [1]).out).toBe(`x ${REDACTED_SECRET} y`);
  });

  it('catches a base64-encoded secret split across chunks', () => {
    const b64 = Buffer.from(`user:${SECRET}`).toString('base64');
    expect(streamed(`Basic ${b64}`, [7, 3]).out).not.toContain(SECRET.slice(5));
    expect(streamed(`Basic ${b64}`, [7, 3]).out).toContain(REDACTED_SECRET);
  });

  it('catches a rule match split across chunks', () => {
    expect(streamed(`token is ${GH} ok`, [12, 5]).out).toBe('token is [REDACTED:github-pat] ok');
  });

  it('catches a token whose rule starts before its anchor, split just before the anchor', () => {
    const head = 'AbCdEfGhIjKlMn';
    const token = `${head}.atlasv1.${'Zy9Xw8Vu7Ts6'.repeat(5)}`;
    const stream = createScrubber().stream();
    const out =
      stream.push(`token = "${head}`) +
      stream.push(token.slice(head.length)) +
      stream.push('"') +
      stream.flush();
    expect(out).toBe('token = "[REDACTED:terraform-cloud-token]"');
  });

  it('catches a card number split across chunks', () => {
    expect(streamed('card 4242 4242 4242 4242 ok', [9, 4]).out).toBe('card [REDACTED:card] ok');
  });

  it('never emits a prefix of a secret before the secret is complete', () => {
    const { pieces } = streamed(`start ${SECRET} end`, [3]);
    let emitted = '';
    for (const piece of pieces) {
      emitted += piece;
      for (let k = 4; k <= SECRET.length; k++) {
        expect(emitted.includes(SECRET.slice(0, k)), `prefix ${SECRET.slice(0, k)}`).toBe(false);
      }
    }
  });

  it('emits text that cannot start a match without holding it back', () => {
    const stream = createScrubber({ secrets: [SECRET] }).stream();
    expect(stream.push('plain words, nothing pending. ')).toBe('plain words, nothing pending. ');
  });

  it('stops holding after a failed URL anchor once whitespace shows it cannot be credentials', () => {
    const stream = createScrubber().stream();
    expect(stream.push('docs at https://example.com/guide and more!')).toBe(
      'docs at https://example.com/guide and more!',
    );
  });

  it('stops holding after a key name in prose once the text has moved past where a value could start', () => {
    const stream = createScrubber().stream();
    const prose = 'The token budget for this run is spent, so the agent stopped and reported back!';
    expect(stream.push(prose)).toBe(prose);
  });

  it('keeps holding after a URL anchor while credentials could still follow', () => {
    const stream = createScrubber().stream();
    expect(stream.push('clone https://deploy:')).toBe('clone ');
    expect(stream.push('Zx9Qw8Ev7Rt6@git.example.com/repo.git done!')).toBe(
      'https://deploy:[REDACTED:url-basic-auth]@git.example.com/repo.git done!',
    );
  });

  it('holds back only the tail that could still become a secret', () => {
    const stream = createScrubber({ secrets: [SECRET] }).stream();
    expect(stream.push('hello cred-Zq')).toBe('hello ');
    expect(stream.push('9 done!')).toBe('cred-Zq9 done!');
  });

  it('returns the held tail on flush', () => {
    const stream = createScrubber({ secrets: [SECRET] }).stream();
    stream.push('tail cred-Z');
    expect(stream.flush()).toBe('cred-Z');
    expect(stream.flush()).toBe('');
  });

  it('produces the same text as scrubbing the whole input at once', () => {
    const text = `a ${SECRET} b ${GH} c DE89 3704 0044 0532 0130 00 d ${Buffer.from(SECRET).toString('hex')}`;
    const whole = createScrubber({ secrets: [SECRET] }).text(text);
    for (const sizes of [[1], [2, 5], [13], [64]]) expect(streamed(text, sizes).out).toBe(whole);
  });
});

/** Characters of random key material (letters and digits). */
function keyRun(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return seeded(7).text(alphabet, length);
}

/** CPU milliseconds of the fastest of three streamings of `text` in 7-character chunks. */
function streamCpuMs(text: string): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    streamed(text, [7]);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

describe('stream() on a hold that keeps growing', () => {
  // What is held is scanned again with every chunk: a finding that does not end made every push
  // scan all of it (80 KB of `token=` and key characters in 7-character chunks: 16 s of CPU).
  for (const [name, make] of [
    ['`token=` and a run of key characters', (n: number) => `token=${keyRun(n)}`],
    ['a run of digits', (n: number) => '1'.repeat(n)],
    ['a base64 run', (n: number) => Buffer.from(keyRun(n)).toString('base64').slice(0, n)],
  ] as const) {
    it(`streams ${name} in time linear in its length (8x the text: under 24x the CPU)`, () => {
      const small = make(16 * 1024);
      const large = make(128 * 1024);
      streamed(small, [7]);
      expect(streamCpuMs(large) / streamCpuMs(small)).toBeLessThan(24);
    }, 60_000);
  }

  it('gives the text the whole scrub gives, whatever the chunks, around long runs', () => {
    const encoded = Buffer.from(`x${keyRun(3000)} ${SECRET} ${keyRun(3000)}`).toString('base64');
    const text = [
      `a token=${keyRun(20_000)} b ${SECRET} c`,
      `${'9'.repeat(9000)} DE89 3704 0044 0532 0130 00`,
      encoded,
      `${GH} ${'f0'.repeat(5000)} ${SECRET}`,
    ].join('\n');
    const whole = createScrubber({ secrets: [SECRET] }).text(text);
    expect(whole).not.toContain(SECRET);
    for (const sizes of [[1], [7], [3, 11], [600], [5000]]) expect(streamed(text, sizes).out).toBe(whole);
  }, 60_000);

  it('emits what follows a long hold once as much has come as is held, or at the end', () => {
    const tail = ' then plain words';
    const early = streamed(`token=${keyRun(2_000)}${tail.repeat(200)}`, [7]);
    expect(early.out).toMatch(/^token=\[REDACTED[^\]]*\]( then plain words){200}$/);
    // Emitted before the flush: what came after the run was scanned once it was as long as the hold.
    expect(early.pieces.at(-1)?.length).toBeLessThan(tail.length * 100);
    const late = streamed(`token=${keyRun(10_000)}${tail}`, [7]);
    expect(late.out).toMatch(/^token=\[REDACTED[^\]]*\] then plain words$/);
  });
});
