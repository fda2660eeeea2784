/**
 * Attacks: a known secret carried in a wrapped or doubly-escaped encoding, the
 * way MIME bodies, PEM-like blobs, e-mail (quoted-printable), JSON writers and
 * nested query strings emit it. The line break or escape lands inside the
 * secret, so a literal match on the plain encoded form misses it.
 */
import { describe, expect, it } from 'vitest';
import { createScrubber, REDACTED_SECRET } from './index.js';

const SECRET = 'tok=Zq7/Hw2+Kp9xVb4Lm8Nc3Rt6Yd1Fg5Js0aQe';
const LONG_SECRET = `${SECRET}-${SECRET.split('').reverse().join('')}-${SECRET.slice(5)}`;
const scrubber = createScrubber({ secrets: [SECRET, LONG_SECRET] });

function wrap(text: string, width: number, br: string): string {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
  return lines.join(br);
}

/** Quoted-printable (RFC 2045): `=` and non-ASCII as `=XX`, soft breaks `=<br>` keeping lines at most 76. */
function quotedPrintable(text: string, br: string): string {
  const units = [...Buffer.from(text, 'utf8')].map((b) =>
    b >= 33 && b <= 126 && b !== 61
      ? String.fromCharCode(b)
      : `=${b.toString(16).toUpperCase().padStart(2, '0')}`,
  );
  let out = '';
  let line = 0;
  for (const unit of units) {
    if (line + unit.length > 75) {
      out += `=${br}`;
      line = 0;
    }
    out += unit;
    line += unit.length;
  }
  return out;
}

function leaksSecret(out: string, secret: string): boolean {
  return out.includes(secret) || !out.includes(REDACTED_SECRET);
}

describe('known secrets in wrapped encodings', () => {
  for (const secret of [SECRET, LONG_SECRET]) {
    const label = secret === SECRET ? 'a 40-character secret' : 'a secret longer than a line';
    for (const width of [64, 76]) {
      for (const br of ['\n', '\r\n']) {
        it(`catches ${label} in base64 wrapped at ${width} with ${JSON.stringify(br)}, the break at every position`, () => {
          for (let pad = 0; pad < width; pad++) {
            const b64 = Buffer.from(`${'x'.repeat(pad)}${secret} tail of the payload`).toString('base64');
            const out = scrubber.text(wrap(b64, width, br));
            const decoded = Buffer.from(out.replace(/\s/g, ''), 'base64').toString('latin1');
            expect(decoded.includes(secret) || !out.includes(REDACTED_SECRET), `pad ${pad}`).toBe(false);
          }
        });
      }
    }

    for (const br of ['\r\n', '\n']) {
      it(`catches ${label} in quoted-printable with soft breaks ${JSON.stringify(`=${br}`)} at every position`, () => {
        for (let pad = 0; pad < 76; pad++) {
          const qp = quotedPrintable(`${'y'.repeat(pad)}${secret} end`, br);
          const out = scrubber.text(qp);
          expect(out.includes(REDACTED_SECRET), `pad ${pad}: ${out}`).toBe(true);
          expect(out.replaceAll(`=${br}`, '').replaceAll('=3D', '=').includes(secret), `pad ${pad}`).toBe(
            false,
          );
        }
      });
    }
  }

  it('catches a secret JSON-escaped character by character (\\u00xx, either case)', () => {
    const all = [...SECRET].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    for (const leak of [all, all.toUpperCase().replaceAll('\\U', '\\u')]) {
      const out = scrubber.text(`{"v":"${leak}"}`);
      expect(out).toContain(REDACTED_SECRET);
      expect(JSON.parse(out.replace(REDACTED_SECRET, 'R')).v).not.toContain(SECRET);
    }
  });

  it('catches a secret JSON-escaped with escaped slashes', () => {
    const out = scrubber.text(`{"v":"${SECRET.replaceAll('/', '\\/')}"}`);
    expect(out).toBe(`{"v":"${REDACTED_SECRET}"}`);
  });

  it('catches a secret URL-encoded twice, upper- and lower-case escapes', () => {
    const twice = encodeURIComponent(encodeURIComponent(SECRET));
    for (const leak of [twice, twice.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())]) {
      const out = scrubber.text(`https://x.example/cb?next=${leak}&a=1`);
      expect(leaksSecret(decodeURIComponent(decodeURIComponent(out)), SECRET), leak).toBe(false);
    }
  });

  it('catches the base64 of a secret URL-encoded in a query string', () => {
    const b64 = Buffer.from(`u:${SECRET}`).toString('base64');
    const out = scrubber.text(`?auth=${encodeURIComponent(b64)}`);
    expect(out).toContain(REDACTED_SECRET);
  });
});

describe('secrets added at run time', () => {
  it('are matched in their plain encodings, without the wrapped forms that would make each addition rebuild hundreds of patterns', () => {
    const scrubber = createScrubber();
    const token = 'rt_9fK2mQ7xLpZ4vB8nW3cY6uJ1';
    scrubber.addSecrets([token]);
    expect(scrubber.text(`t=${token}`)).not.toContain(token);
    expect(scrubber.text(Buffer.from(token).toString('base64'))).not.toContain(
      Buffer.from(token).toString('base64'),
    );
    const before = scrubber.stats.formsCompiled;
    scrubber.addSecrets(['rt_another1Token2ForTheRun3xyz']);
    expect(scrubber.stats.formsCompiled - before).toBeLessThan(60);
  });
});
