import { describe, expect, it } from 'vitest';
import { findEncoded } from './decoded.js';
import { createScrubber } from './index.js';

/** Token material built at runtime, so no credential-shaped literal sits in the source. */
const GH = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;
const AWS = `AKIA${'QZ7XK2MN'.repeat(2)}`;
const SLACK = `xoxb-${'1234567890'}-${'9876543210'}-${'Zq8Wx7Ev6Rt5Yu4Io3Pa2Sd1'}`;
const TOKENS = [
  { name: 'GitHub', token: GH, marker: '[REDACTED:github-pat]' },
  { name: 'AWS', token: AWS, marker: '[REDACTED:aws-access-key-id]' },
  { name: 'Slack', token: SLACK, marker: '[REDACTED:slack-bot-token]' },
];

const scrubber = createScrubber();
const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');
const wrap = (body: string, width: number, eol: string) =>
  body.match(new RegExp(`.{1,${width}}`, 'g'))!.join(eol);

/** Every fragment of the token long enough to be worth checking must be gone from the output. */
function expectNoFragment(out: string, encoded: string): void {
  for (const line of encoded.split(/\r?\n|\\n|\\r\\n/)) {
    if (line.length >= 8) expect(out).not.toContain(line);
  }
}

describe('rule matches inside encoded text', () => {
  for (const { name, token, marker } of TOKENS) {
    describe(name, () => {
      it('are found base64-encoded, MIME-wrapped at 76 columns with CRLF, the break at every offset inside the token', () => {
        // Moving the prefix by one byte at a time moves the break through every position of the token.
        for (let pad = 0; pad < 60; pad += 1) {
          const body = wrap(b64(`${'#'.repeat(pad)} config: ${token} end of file\n`), 76, '\r\n');
          const mail = `Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n--boundary--`;
          const out = scrubber.text(mail);
          expect(out, `pad ${pad}`).toContain(marker);
          expectNoFragment(out, body);
          expect(out).toContain('--boundary--');
        }
      });

      it('are found wrapped at 64 columns with LF (PEM-like bodies)', () => {
        const body = wrap(b64(`key material follows ${token} and more text after it`), 64, '\n');
        expect(scrubber.text(`-----BEGIN DATA-----\n${body}\n-----END DATA-----`)).toContain(marker);
      });

      it('are found in JSON-escaped text, the line breaks written as the two characters \\n', () => {
        const body = wrap(b64(`prefix text here, long enough to wrap: ${token} suffix`), 76, '\n');
        const json = JSON.stringify({ attachment: body, note: 'see attachment' });
        expect(json).toContain('\\n');
        const out = scrubber.text(json);
        expect(out).toContain(marker);
        expectNoFragment(out, JSON.stringify(body).slice(1, -1));
        expect(JSON.parse(out).note).toBe('see attachment');
      });

      it('are found percent-encoded twice, every character escaped', () => {
        const once = [...token].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');
        const twice = encodeURIComponent(once);
        const out = scrubber.text(`GET /callback?next=${twice}&state=ok HTTP/1.1`);
        expect(out).toContain(marker);
        expect(out).not.toContain(twice.slice(0, 30));
        expect(out).toContain('&state=ok');
      });

      it('are found with some characters written as \\u00xx JSON escapes', () => {
        const partial = [...token]
          .map((c, i) => (i % 3 === 1 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c))
          .join('');
        const out = scrubber.text(`{"env":{"TOKEN_VALUE":"${partial}"}}`);
        expect(out).toContain(marker);
        expect(out).not.toContain(partial.slice(0, 12));
      });

      it('are found as \\u00xx and \\x escapes inside JSON-escaped text (a backslash before every quote)', () => {
        const escaped = (form: 'u' | 'x') =>
          [...token]
            .map((c, i) =>
              i % 2
                ? c
                : form === 'u'
                  ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
                  : `\\x${c.charCodeAt(0).toString(16)}`,
            )
            .join('');
        for (const form of ['u', 'x'] as const) {
          // A result scrubbed whole, as an LLM answer is: its text is JSON inside a JSON string.
          const rows = Array.from({ length: 200 }, (_, i) => `{\\"id\\":${i},\\"name\\":\\"row ${i}\\"}`);
          rows.splice(150, 0, `{\\"env\\":\\"${escaped(form)}\\"}`);
          const out = scrubber.text(`{"content":[{"type":"text","text":"[${rows.join(',')}]"}]}`);
          expect(out).toContain(marker);
          expect(out).not.toContain(escaped(form).slice(0, 14));
        }
      });

      it('are found hex-encoded', () => {
        const hex = Buffer.from(`v=${token};`).toString('hex');
        expect(scrubber.text(`dump ${hex} end`)).toBe(`dump ${marker} end`);
      });

      it('are found quoted-printable with a soft line break inside the token', () => {
        const qp = `Your key: ${token.slice(0, 7)}=\r\n${token.slice(7)}\r\nRegards`;
        const out = scrubber.text(qp);
        expect(out).toContain(marker);
        expect(out).not.toContain(token.slice(7));
        expect(out).toContain('Regards');
      });

      it('are found base64 inside base64 (decoded again, to a bounded depth)', () => {
        expect(scrubber.text(`blob=${b64(b64(`inner ${token} x`))}`)).toContain(marker);
      });
    });
  }

  it('leave encoded text that carries nothing alone', () => {
    const texts = [
      `attachment ${b64('Hello Alice, the quarterly report is attached. Regards, Bob.')}`,
      `sha ${'3f786850e387550fdab836ed7e6dc881de23001b'} and id ${'9b2f4c1d8e7a6b5c4d3e2f1a0b9c8d7e'}`,
      'GET /search?q=caf%C3%A9%20au%20lait&page=2',
      '{"msg":"caf\\u00e9 cr\\u00e8me"}',
      wrap(b64('x'.repeat(400)), 76, '\r\n'),
    ];
    for (const text of texts) expect(scrubber.text(text)).toBe(text);
  });

  it('redact only the encoded parameter of a URL, not the whole URL', () => {
    const escaped = [...GH].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    expect(scrubber.text(`https://example.com/cb?a=1&t=${escaped}&b=2`)).toBe(
      'https://example.com/cb?a=1&[REDACTED:github-pat]&b=2',
    );
  });
});

describe('streams with encoded text', () => {
  const attacks = TOKENS.flatMap(({ token }) => [
    `mail:\r\n${wrap(b64(`hdr ${token} tail`), 76, '\r\n')}\r\n--end`,
    JSON.stringify({ a: wrap(b64(`json ${token} tail`), 76, '\n') }),
    `q=${encodeURIComponent([...token].map((c) => `%${c.charCodeAt(0).toString(16)}`).join(''))} done`,
    `{"t":"${token.slice(0, 2)}\\u00${token.charCodeAt(2).toString(16)}${token.slice(3)}"} ok`,
  ]);

  it('emit exactly what scrubbing the whole text gives, wherever the text is cut', () => {
    for (const text of attacks) {
      const whole = scrubber.text(text);
      expect(whole).toContain('[REDACTED:');
      for (let cut = 1; cut < text.length; cut++) {
        const stream = scrubber.stream();
        const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
        expect(out, `cut at ${cut} of ${JSON.stringify(text).slice(0, 40)}`).toBe(whole);
      }
    }
  });

  it('emit exactly the whole-text result when fed a character at a time', () => {
    for (const text of attacks) {
      const stream = scrubber.stream();
      let out = '';
      for (const ch of text) out += stream.push(ch);
      expect(out + stream.flush()).toBe(scrubber.text(text));
    }
  });

  it('still find a token when a plain-looking head of the run was already emitted', () => {
    // `QUJDREVG` (base64 of "ABCDEF") reads as a word, so a stream emits it instead of holding it;
    // the rest of the run, decoded at every alignment, still yields the token.
    const body = b64(`ABCDEF ${GH} and more text`);
    expect(body.startsWith('QUJDREVG')).toBe(true);
    for (let cut = 1; cut <= 8; cut++) {
      const stream = scrubber.stream();
      const out = stream.push(`x ${body.slice(0, cut)}`) + stream.push(body.slice(cut)) + stream.flush();
      expect(out, `cut at ${cut}`).toContain('[REDACTED:github-pat]');
      expect(out).not.toContain(body.slice(12, 40));
    }
  });
});

describe('short runs settled before decoding', () => {
  // decoded.ts checks a short run for a printable stretch from the text before decoding it:
  // the stretch must be found at either end of the bytes, whatever the run's length and padding.
  const stretch = 'Ab1Cd2Ef';
  it('decode a stretch of exactly eight printable bytes at the start or end of binary, at every length', () => {
    let decoded = 0;
    for (let pre = 0; pre < 12; pre++) {
      for (let post = 0; post < 12; post++) {
        const bytes = Buffer.concat([
          Buffer.from(Array.from({ length: pre }, (_, k) => 0x80 + k * 7)),
          Buffer.from(stretch, 'latin1'),
          Buffer.from(Array.from({ length: post }, (_, k) => 0x01 + k)),
        ]);
        for (const encoded of [
          bytes.toString('base64'),
          bytes.toString('base64url'),
          bytes.toString('hex'),
        ]) {
          const hex = /^[0-9a-f]+$/.test(encoded);
          const worth = hex ? encoded.length >= 32 : /[a-z]/.test(encoded) && /[A-Z]/.test(encoded);
          if (encoded.length < 20 || !worth) continue;
          const runs = findEncoded(`x "${encoded}" y`);
          expect(runs.text, `${pre}/${post} ${encoded}`).toContain(stretch);
          decoded++;
        }
      }
    }
    expect(decoded).toBeGreaterThan(300);
  });

  it('leave a short run of seven printable bytes between binary undecoded', () => {
    const bytes = Buffer.from([0x80, 0x81, 0x82, ...Buffer.from('Ab1Cd2E'), 0x01, 0x02, 0x03, 0x04, 0x05]);
    expect(findEncoded(`"${bytes.toString('base64')}"`).text).toBe('');
    expect(findEncoded(`"${bytes.toString('hex')}${'00'.repeat(4)}"`).text).toBe('');
  });

  it('find runs in text beyond Latin-1 and in text longer than a mebibyte', () => {
    const run = b64(`\x00\x01${stretch}token\x02`);
    for (const text of [`é€😀 "${run}" 😀`, `${'word '.repeat(220_000)}"${run}"`, `\ud800"${run}"\udfff`]) {
      const runs = findEncoded(text);
      expect(runs.text).toContain(stretch);
      expect(text.slice(runs.start[0]!, runs.end[0]!)).toBe(run);
    }
  });

  it('redact an encoded token in a JSON string next to a path, a hash, and at either end of the text', () => {
    const thumb = b64(`\x00\x00${GH}\x00`);
    const item = {
      path: '/srv/repo/src/module-1/file-1.ts',
      sha: '2fca944fb7a65c20cdcb7e63af1821755f427937',
      thumb,
    };
    for (const text of [
      JSON.stringify(JSON.stringify([item])),
      thumb,
      `${thumb}\n`,
      `path=/srv/a-b/c_d/ ${thumb}`,
    ]) {
      const out = scrubber.text(text);
      expect(out, text).toContain('[REDACTED');
      expect(out).not.toContain(thumb);
    }
  });

  it('redact an encoded token glued to a path with no separator, in any alignment and mid-path', () => {
    for (const pad of ['', 'a', 'ab', 'abc']) {
      // \xfb\xff encodes to `+/`, \xff\xff to `//`: the payload has a `/` of its own.
      const thumb = b64(`${pad}\x00\xfb\xff${GH}\xff\xff\x00`);
      const urlSafe = thumb.replaceAll('+', '-').replaceAll('/', '_');
      for (const text of [
        `/srv/a-b/c_d/${thumb}`,
        `/srv/data/x/${thumb}`,
        `srv/data/${urlSafe}`,
        `/srv/a-b/c_d/${thumb}/more/path`,
        `"/v1/files/${urlSafe}"`,
      ]) {
        const out = scrubber.text(text);
        expect(out, text).toContain('[REDACTED');
        expect(out, text).not.toContain(GH);
      }
    }
  });
});

describe('a run whose match the text itself already showed', () => {
  it('is left alone though a PII span found later in the scan stands before it', () => {
    // The text's spans are the rules' then the PII ones (the card, found after the token but
    // standing before it): out of order, so the lookup of what lies within the escaped run must
    // sort them, or it misses the token found there and redacts the whole run.
    const text = `card 4242 4242 4242 4242 then ref=${GH}%20x%20y end`;
    const expected = 'card [REDACTED:card] then ref=[REDACTED:github-pat]%20x%20y end';
    const scrubber = createScrubber();
    expect(scrubber.text(text)).toBe(expected);
    const stream = scrubber.stream();
    expect(stream.push(text) + stream.flush()).toBe(expected);
  });
});
