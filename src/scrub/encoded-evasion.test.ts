/**
 * Evasions of the decoding of encoded text (decoded.ts), as a steered agent would try them to
 * read a credential through a tool: make the encoded run too long to be decoded (padding before
 * the token, a large attachment), or make the decoded bytes look like binary (NUL or random
 * bytes around the token) so they are not scanned as text.
 */
import { randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { findEncoded } from './decoded.js';
import { createScrubber } from './index.js';

/** Token material built at runtime, so no credential-shaped literal sits in the source. */
const GH = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;
const scrubber = createScrubber();

const wrap = (body: string, width: number, eol: string) =>
  body.match(new RegExp(`.{1,${width}}`, 'g'))!.join(eol);

/** The base64 (or hex) characters that encode the token's bytes, found in `encoded` itself. */
function tokenChars(bytes: Buffer, encoding: 'base64' | 'hex'): string {
  const at = bytes.indexOf(GH);
  if (encoding === 'hex') return bytes.toString('hex').slice(at * 2, (at + GH.length) * 2);
  const from = Math.ceil(at / 3) * 4;
  const to = Math.floor((at + GH.length) / 3) * 4;
  return bytes.toString('base64').slice(from, to);
}

function expectHidden(text: string, bytes: Buffer, encoding: 'base64' | 'hex' = 'base64'): void {
  const encodedToken = tokenChars(bytes, encoding);
  expect(text.replace(/\r?\n/g, '')).toContain(encodedToken); // the attack is as described
  const out = scrubber.text(text);
  expect(out.replace(/\r?\n/g, '')).not.toContain(encodedToken);
  expect(out).toMatch(/\[REDACTED:[a-z-]+\]/);
}

describe('an encoded credential is found however long its run is', () => {
  it('in one base64 line after 16 KB of text padding', () => {
    const bytes = Buffer.from(`${'z'.repeat(16_384)} ${GH} tail`);
    expectHidden(bytes.toString('base64'), bytes);
  });

  it('in one base64 line after 1 MB of text padding', () => {
    const bytes = Buffer.from(`${'lorem ipsum '.repeat(90_000)} ${GH} tail`);
    expectHidden(bytes.toString('base64'), bytes);
  });

  it('in a MIME attachment of 40 KB wrapped at 76 columns', () => {
    const bytes = Buffer.from(`${'KEY=value\n'.repeat(4_000)}GITHUB_TOKEN=${GH}\n`);
    const mail = `Content-Transfer-Encoding: base64\r\n\r\n${wrap(bytes.toString('base64'), 76, '\r\n')}\r\n--b--`;
    expectHidden(mail, bytes);
  });

  it('in hex after 16 KB of padding', () => {
    const bytes = Buffer.from(`${'0'.repeat(16_384)} ${GH} `);
    expectHidden(bytes.toString('hex'), bytes, 'hex');
  });

  it('percent-encoded in a run of 30,000 escapes', () => {
    const escaped = [...`${'x'.repeat(10_000)} ${GH} `]
      .map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
      .join('');
    const out = scrubber.text(`q=${escaped}`);
    expect(out).toContain('[REDACTED:github-pat]');
    expect(out).not.toContain(escaped.slice(30_000, 30_100));
  });
});

describe('an encoded credential is found among bytes that are not text', () => {
  it('after NUL padding', () => {
    const bytes = Buffer.concat([Buffer.alloc(300), Buffer.from(` ${GH} `)]);
    expectHidden(bytes.toString('base64'), bytes);
  });

  it('between random bytes', () => {
    const bytes = Buffer.concat([randomBytes(2_000), Buffer.from(` ${GH} `), randomBytes(2_000)]);
    expectHidden(bytes.toString('base64'), bytes);
  });

  it('between random bytes in a run longer than 16 KB', () => {
    const bytes = Buffer.concat([randomBytes(30_000), Buffer.from(`\n${GH}\n`), randomBytes(30_000)]);
    expectHidden(bytes.toString('base64'), bytes);
  });

  it('in hex after NUL padding', () => {
    const bytes = Buffer.concat([Buffer.alloc(200), Buffer.from(` ${GH} `)]);
    expectHidden(bytes.toString('hex'), bytes, 'hex');
  });

  it('inside a JSON string, base64 of a binary file with the token in it', () => {
    const bytes = Buffer.concat([randomBytes(500), Buffer.from(`token: ${GH}`), Buffer.alloc(64)]);
    const json = JSON.stringify({ name: 'blob.bin', data: bytes.toString('base64') });
    expectHidden(json, bytes);
  });
});

describe('an encoded credential is found when it was compressed first', () => {
  const env = Buffer.from(`DB_HOST=db.internal\nGITHUB_TOKEN=${GH}\nDEBUG=0\n`);

  it('gzip, then base64 (`gzip -c .env | base64`)', () => {
    const text = gzipSync(env).toString('base64');
    expect(text).toMatch(/^H4sI/);
    expect(scrubber.text(text)).not.toBe(text);
    expect(scrubber.text(`file: ${text}`)).toMatch(/^file: \[REDACTED:[a-z-]+\]$/);
  });

  it('zlib deflate, then base64', () => {
    const text = deflateSync(env).toString('base64');
    expect(scrubber.text(text)).toMatch(/^\[REDACTED:[a-z-]+\]$/);
  });

  it('gzip, then hex', () => {
    const text = gzipSync(env).toString('hex');
    expect(scrubber.text(text)).toMatch(/^\[REDACTED:[a-z-]+\]$/);
  });

  it('gzip of 100 KB of text, base64 wrapped at 76 columns (a run longer than one window)', () => {
    const big = Buffer.concat([Buffer.from(randomBytes(40_000).toString('base64')), env]);
    const text = wrap(gzipSync(big).toString('base64'), 76, '\n');
    expect(text.length).toBeGreaterThan(40_000);
    const out = scrubber.text(text);
    expect(out).toMatch(/^\[REDACTED:[a-z-]+\]$/);
  });
});

describe('decompression', () => {
  it('is bounded by the length of the text, however many bombs it holds', () => {
    // Each run inflates to 1 MiB of text from about 1.4 KB: 40 of them would be 40 MiB to scan.
    const bomb = gzipSync(Buffer.alloc(1 << 20, 'a')).toString('base64');
    const text = Array.from({ length: 40 }, () => bomb).join('\n\n');
    const decoded = findEncoded(text).text.length;
    expect(decoded).toBeGreaterThanOrEqual(1 << 20); // the first one is decompressed
    expect(decoded).toBeLessThanOrEqual(4 * text.length + (1 << 20) + text.length);
  });
});

describe('binary data with no credential in it', () => {
  it('is left as it is, compressed or not', () => {
    for (const blob of [
      randomBytes(100_000),
      gzipSync(randomBytes(50_000)),
      gzipSync(Buffer.alloc(1_000_000)),
    ]) {
      const text = blob.toString('base64');
      expect(scrubber.text(text)).toBe(text);
    }
  });

  it('is left as it is', () => {
    const blob = randomBytes(100_000).toString('base64');
    expect(scrubber.text(blob)).toBe(blob);
  });
});

describe('a stream of a long encoded run', () => {
  it('finds a token that crosses the boundary between two chunks', () => {
    // A run longer than a stream holds: each chunk is decoded on its own, so the tail of one
    // must be held for the next or a token across the cut is never seen whole.
    const bytes = Buffer.from(`${'lorem ipsum '.repeat(3_000)} ${GH} ${'dolor sit '.repeat(3_000)}`);
    const text = bytes.toString('base64');
    const encodedToken = tokenChars(bytes, 'base64');
    const at = text.indexOf(encodedToken);
    for (const cut of [at + 1, at + 10, at + encodedToken.length - 1]) {
      const stream = scrubber.stream();
      const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
      expect(out, `cut at ${cut - at} into the token`).not.toContain(encodedToken.slice(0, 24));
      expect(out).not.toContain(encodedToken.slice(-24));
    }
  });
});
