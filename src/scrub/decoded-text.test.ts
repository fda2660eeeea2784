import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { findEncoded, locateEncoded } from './decoded.js';
import { createScrubber } from './index.js';

const GH = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;

/** Each run's decoded text, cut out of the joined text at the recorded offsets. */
function runsOf(input: string): { at: [number, number]; decoded: string }[] {
  const runs = findEncoded(input);
  return Array.from({ length: runs.count }, (_, k) => ({
    at: [runs.start[k]!, runs.end[k]!] as [number, number],
    decoded: runs.text.slice(runs.at[k]!, runs.at[k + 1]! - 1),
  }));
}

describe('decoded text of a scan', () => {
  it('holds every run, in order, each at the offsets recorded for it', () => {
    const input = `a=%41%42 b=${Buffer.from('plain words here').toString('base64')} c=x%2Fy`;
    expect(runsOf(input)).toEqual([
      { at: [input.indexOf('cGxh'), input.indexOf(' c=')], decoded: 'plain words here' },
      { at: [0, 8], decoded: 'a=AB' },
      { at: [input.indexOf('c=x'), input.length], decoded: 'c=x/y' },
    ]);
  });

  it('keeps characters above Latin-1 from a \\u escape, after runs written one byte each', () => {
    const input = `x=%41%42 y=\\u4e2d\\u6587 z=%43`;
    expect(runsOf(input).map((run) => run.decoded)).toEqual(['x=AB', 'y=中文', 'z=C']);
  });

  it('keeps a lone surrogate from an escape as it is', () => {
    expect(runsOf('v=\\ud800%41').map((run) => run.decoded)).toEqual(['v=\ud800A']);
  });

  it('grows past its first buffer (thousands of runs, one long run)', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `k${i}=%41`).join(' ');
    const runs = runsOf(many);
    expect(runs).toHaveLength(20_000);
    expect(runs[19_999]!.decoded).toBe('k19999=A');
    const long = '%42'.repeat(100_000);
    expect(runsOf(long)[0]!.decoded).toBe('B'.repeat(100_000));
  });

  it('finds a token whose escapes decode above Latin-1 around it', () => {
    const escaped = [...`\u4e2d ${GH} \u6587`].map(
      (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    const out = createScrubber().text(`note: ${escaped.join('')} end`);
    expect(out).toContain('[REDACTED:github-pat]');
    expect(out).toContain('end');
  });
});

describe('a base64 run at the end of the text', () => {
  it('ends before a line break that ends the text (the break is not an empty last line)', () => {
    const token = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;
    const run = Buffer.from(`token: ${token}`).toString('base64');
    for (const eol of ['\n', '\r\n', '\\n']) {
      expect(runsOf(`x ${run}${eol}`)[0]!.at).toEqual([2, 2 + run.length]);
      const out = createScrubber().text(`x ${run}${eol}`);
      expect(out.startsWith('x [REDACTED:') && out.endsWith(`]${eol}`), out).toBe(true);
    }
  });
});

describe('runs located only (past the work budget)', () => {
  it('are the places findEncoded locates, in the same order, on generated text', () => {
    const rng = seeded(5);
    const b64 = (length: number) =>
      Buffer.from(Array.from({ length }, () => rng.int(256))).toString('base64');
    const pieces = [
      () => b64(10 + rng.int(60)),
      () =>
        b64(57)
          .match(/.{1,76}/g)!
          .join('\r\n'),
      () => `${b64(57)}\n${b64(57)}\n${b64(20)}`,
      () => Buffer.from(`ghp_${'x'.repeat(rng.int(40))}`).toString('hex'),
      () => '%41'.repeat(1 + rng.int(20)),
      () => `a=%2F${b64(8)}`,
      () => '\\u0041\\x42',
      () => 'soft=\nbreak=\r\n--b',
      () => '/srv/a-b/c_d/AABnaHBfQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo',
      () => 'token=sk-ghp_AKIApatxoxb-eyJpassword: %41Q~|',
      () => rng.pick([' ', '\n', '"', '&', '?', ';', '中', 'é']),
    ];
    let runs = 0;
    for (let k = 0; k < 600; k++) {
      let input = '';
      for (let j = rng.int(80); j > 0; j--) input += rng.pick(pieces)();
      for (const continued of [false, true]) {
        for (const nested of [false, true]) {
          const all = findEncoded(input, continued, nested, true);
          const expected = { count: all.count, start: [...all.start], end: [...all.end] };
          const located = locateEncoded(input, continued, nested);
          expect({ count: located.count, start: [...located.start], end: [...located.end] }).toEqual(
            expected,
          );
          runs += located.count;
        }
      }
    }
    expect(runs).toBeGreaterThan(10_000);
  });
});
