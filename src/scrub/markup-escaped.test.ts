/**
 * A credential echoed through a markup escaper: an upstream's HTML error page or XML document
 * reflecting the key the gateway injected, where the escaper wrote some of its characters as
 * character references. Go's html/template writes `+` as `&#43;`, OWASP's encoder `/` as `&#x2F;`,
 * every escaper `&`, `<` and `"` as `&amp;`, `&lt;`, `&quot;` — and 72% of AWS secret keys hold a
 * `+` or a `/`. A reference splits the value where the scrubber's runs end (`&` and `;` end a
 * value), and no encoded form of a known secret spelled it: every such echo went out bare.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cpuMs } from '../../test/helpers/cpu-time.js';
import { createScrubber } from './index.js';

/** Built at runtime: no credential-shaped literal sits in the source. */
const AWS_SECRET = `wJalrXUtnFEMI/K7MDENG+bPxRfi${'CYzq8vK2mLp9'}`;
const WITH_MARKUP = `Ab3&dE5fG7hJ9kL1<mN3pQ5"rS7>tU9'xY`;
const GITHUB = `ghp_${'aB3cD4eF5gH6'.repeat(3)}`;
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

const scrubber = createScrubber({ secrets: [AWS_SECRET, WITH_MARKUP, PEM] });
/** The built-in rules alone: no known secret. */
const rulesOnly = createScrubber();

const decimal = (c: string) => `&#${c.charCodeAt(0)};`;
const hexLower = (c: string) => `&#x${c.charCodeAt(0).toString(16)};`;
const hexUpper = (c: string) => `&#X${c.charCodeAt(0).toString(16).toUpperCase()};`;
const NAMED: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '/': '&sol;',
  '+': '&plus;',
};

/** `value` with each character of `escaped` written by `reference`. */
function writeReferences(value: string, escaped: string, reference: (c: string) => string): string {
  return [...value].map((c) => (escaped.includes(c) ? reference(c) : c)).join('');
}

/** The escapers' styles: which characters each writes as a reference, and how. */
const ESCAPERS: Record<string, (value: string) => string> = {
  'Go html/template (+ as &#43;)': (v) => writeReferences(v, `&<>"'+`, (c) => NAMED[c] ?? decimal(c)),
  'OWASP (/ as &#x2F;)': (v) =>
    writeReferences(v, `&<>"'/`, (c) => (c === '/' ? hexUpper(c).replace('X', 'x') : NAMED[c]!)),
  'Python html.escape (&#x27;)': (v) =>
    writeReferences(v, `&<>"'`, (c) => (c === "'" ? hexLower(c) : NAMED[c]!)),
  'PHP htmlspecialchars (&#039;)': (v) =>
    writeReferences(v, `&<>"'`, (c) => (c === "'" ? '&#039;' : NAMED[c]!)),
  'every special character decimal': (v) => writeReferences(v, `&<>"'/+=`, decimal),
  'every special character hex, upper X': (v) => writeReferences(v, `&<>"'/+=`, hexUpper),
  'HTML5 named (&sol; &plus;)': (v) => writeReferences(v, `&<>"'/+`, (c) => NAMED[c]!),
  'numeric without the semicolon': (v) => writeReferences(v, `/+`, (c) => `&#${c.charCodeAt(0)}`),
  'escaped twice (&amp;#43;)': (v) => writeReferences(v, `&<>"'/+`, (c) => `&amp;#${c.charCodeAt(0)};`),
  'upper-case named (&AMP;)': (v) => writeReferences(v, `&<>"`, (c) => NAMED[c]!.toUpperCase()),
};

describe('a known secret echoed through a markup escaper', () => {
  for (const [style, write] of Object.entries(ESCAPERS)) {
    it(`is redacted as ${style} writes it`, () => {
      const leaked: string[] = [];
      for (const secret of [AWS_SECRET, WITH_MARKUP]) {
        const echoed = write(secret);
        for (const around of [(s: string) => `<p>Invalid key ${s}</p>`, (s: string) => `<key value="${s}"/>`])
          if (scrubber.text(around(echoed)).includes(echoed.slice(0, 12))) leaked.push(around(echoed));
      }
      expect(leaked).toEqual([]);
    });
  }

  it('is redacted with + read as a space (a raw secret sent in a query string, echoed decoded)', () => {
    const echoed = AWS_SECRET.replace(/\+/g, ' ');
    const out = scrubber.text(`unknown access key: ${echoed}`);
    expect(out).not.toContain(echoed.slice(0, 20));
    expect(out).not.toContain(echoed.slice(-12));
  });
});

describe('a secret a page breaks for line wrapping', () => {
  for (const hint of ['&shy;', '&#173;', '&#8203;', '&#x200B;', '&ZeroWidthSpace;', '&zwnj;']) {
    it(`is redacted with ${hint} inside it`, () => {
      const hyphenated = `${GITHUB.slice(0, 20)}${hint}${GITHUB.slice(20)}`;
      const out = rulesOnly.text(`<td>${hyphenated}</td>`);
      expect(out).toBe('<td>[REDACTED:github-pat]</td>');
    });
  }
});

describe('a known secret in an encoded URL', () => {
  it('is redacted as encodeURI writes it (& + / = left as they are)', () => {
    const echoed = encodeURI(WITH_MARKUP);
    expect(scrubber.text(`GET /keys/${echoed} 404`)).not.toContain('mN3pQ5');
  });
});

describe('a rule-named token written as character references', () => {
  for (const [style, reference] of Object.entries({ decimal, hexLower, hexUpper })) {
    it(`is redacted written in ${style} references`, () => {
      const written = writeReferences(GITHUB, GITHUB, reference);
      const out = rulesOnly.text(`<td>${written}</td>`);
      expect(out).not.toContain(written);
      expect(out).toBe('<td>[REDACTED:github-pat]</td>');
    });
  }

  it('is redacted where one character of it is a reference', () => {
    const written = `${GITHUB.slice(0, 10)}&#${GITHUB.charCodeAt(10)};${GITHUB.slice(11)}`;
    expect(rulesOnly.text(`token: ${written}`)).not.toContain(GITHUB.slice(11));
  });
});

describe('a private key with its line breaks written as markup', () => {
  const lines = PEM.trim().split('\n');
  const FORMS: Record<string, string> = {
    '<br>': lines.join('<br>'),
    '<br/>': lines.join('<br/>\n'),
    '&#10;': lines.join('&#10;'),
    '&#xA;': lines.join('&#xA;'),
    '&#13;&#10;': lines.join('&#13;&#10;'),
    'a JSON array of lines': JSON.stringify(lines),
    paragraphs: `<p>${lines.join('</p><p>')}</p>`,
  };
  for (const [name, written] of Object.entries(FORMS)) {
    it(`leaves no line of its body, with ${name} between lines (a rule, no known secret)`, () => {
      const out = rulesOnly.text(`<div>${written}</div>`);
      const bare = lines.slice(1, -1).filter((line) => out.includes(line));
      expect(bare).toEqual([]);
      expect(out).toContain('[REDACTED:pem-private-key]');
    });
  }
});

describe('ordinary markup', () => {
  it('is left as it is', () => {
    const page = [
      '<p>Tom &amp; Jerry &mdash; &copy; 2026, don&#39;t&nbsp;panic</p>',
      '<a href="/search?q=cats&amp;page=2&amp;sort=desc">next &raquo;</a>',
      '<code>if (a &lt; b &amp;&amp; c &gt; d) return &quot;ok&quot;;</code>',
      '<p>R&amp;D spend rose 12&#37; &#8212; see &#x201C;Results&#x201D;.</p>',
      'k=v&a=1&b=2;c=3 #x2F; &#;',
    ].join('\n');
    expect(rulesOnly.text(page)).toBe(page);
    expect(scrubber.text(page)).toBe(page);
  });
});

describe('in a stream', () => {
  it('redacts an escaped echo cut at every position into two chunks', () => {
    const echoed = ESCAPERS['Go html/template (+ as &#43;)']!(AWS_SECRET);
    const text = `<p>Invalid key ${echoed}</p>`;
    const leaked: number[] = [];
    for (let cut = 1; cut < text.length; cut++) {
      const stream = scrubber.stream();
      const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
      if (out.includes('bPxRfi') || out.includes('MDENG')) leaked.push(cut);
    }
    expect(leaked).toEqual([]);
  });
});

describe('in a stream, other escapes', () => {
  /** Each text, and what of it would show the token went out: its tail as written there. */
  const CASES: Record<string, [string, string]> = {
    'a token Markdown escaped': [
      `The page says: ${GITHUB.replace(/_/g, '\\_')} is the key.`,
      GITHUB.slice(-12),
    ],
    'a token a page hyphenated': [
      `<td>${GITHUB.slice(0, 20)}&shy;${GITHUB.slice(20)}</td>`,
      GITHUB.slice(-12),
    ],
    'a token all in references': [
      `<p>${writeReferences(GITHUB, GITHUB, decimal)}</p>`,
      writeReferences(GITHUB.slice(-3), GITHUB, decimal),
    ],
  };
  for (const [name, [text, tail]] of Object.entries(CASES)) {
    it(`redacts ${name}, cut at every position into two chunks`, () => {
      expect(text).toContain(tail);
      const leaked: number[] = [];
      for (let cut = 1; cut < text.length; cut++) {
        const stream = rulesOnly.stream();
        const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
        if (out.includes(tail)) leaked.push(cut);
      }
      expect(leaked).toEqual([]);
    });
  }
});

describe('text dense with references', () => {
  const scrubCpuMs = (text: string) => cpuMs(() => createScrubber().text(text));
  const SHAPES: Record<string, (length: number) => string> = {
    'one run of references': (length) => `x${'&#43;'.repeat(length / 5)}`,
    'a run of eight characters every thirteen': (length) => 'abcdefg&amp; '.repeat(length / 13),
    'a reference escaped again and again': (length) => `k${'&amp;'.repeat(length / 5)}#43;`,
  };
  for (const [shape, make] of Object.entries(SHAPES)) {
    it(`is scrubbed in time linear in its length, ${shape} (8x the text: under 24x the CPU)`, () => {
      const small = make(128 * 1024);
      const large = make(1024 * 1024);
      scrubCpuMs(small);
      const ratio =
        Math.min(scrubCpuMs(large), scrubCpuMs(large)) / Math.min(scrubCpuMs(small), scrubCpuMs(small));
      expect(ratio).toBeLessThan(24);
    }, 60_000);
  }
});

describe('a token in text a Markdown writer escaped', () => {
  const STRIPE = `sk_live_${'aB3cD4eF5gH6'.repeat(2)}`;
  /** markdownify (the MCP fetch server's converter) writes `_` and `*` so; with escape_misc `+` and `=`. */
  const markdown = (text: string) => text.replace(/[_*+=]/g, (c) => `\\${c}`);

  it('is redacted where its underscores are escaped (ghp\\_…, sk\\_live\\_…)', () => {
    for (const token of [GITHUB, STRIPE]) {
      const out = rulesOnly.text(`The page says: ${markdown(token)} is the key.`);
      expect(out).not.toContain(token.slice(-12));
      expect(out).toMatch(/^The page says: \[REDACTED:[a-z-]+\] is the key\.$/);
    }
  });

  it('is redacted for a known secret whose + and = are escaped', () => {
    const out = scrubber.text(`the page echoed ${markdown(AWS_SECRET)} back`);
    expect(out).not.toContain('bPxRfi');
    expect(out).not.toContain('K7MDENG');
  });

  it('leaves ordinary Markdown and regexes as they are', () => {
    const text = 'Use \\_private\\_ names, a \\* b, C:\\\\tmp, /\\d+\\.\\d+/ and snake\\_case\\_words here.';
    expect(rulesOnly.text(text)).toBe(text);
  });
});

describe('an assignment shown in a page, its quotes written as references', () => {
  const value = `Xk9mQ2vL7pTz${'R4wB8nC3'}`;
  const SHOWN: Record<string, string> = {
    '&quot;': `<code>password = &quot;${value}&quot;</code>`,
    '&#39;': `<code>api_key: &#39;${value}&#39;</code>`,
    '&#x27;': `<td>secret=&#x27;${value}&#x27;</td>`,
    '&apos; around the name too': `<pre>&apos;client_secret&apos;: &apos;${value}&apos;</pre>`,
  };
  for (const [quote, text] of Object.entries(SHOWN)) {
    it(`redacts the value quoted with ${quote}, keeping the markup`, () => {
      const out = rulesOnly.text(text);
      expect(out).not.toContain(value);
      expect(out).toContain('[REDACTED:generic-secret-assignment]');
    });
  }
});
