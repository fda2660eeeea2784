import { describe, expect, it } from 'vitest';
import { createScrubber } from '../scrub/index.js';
import { scrubJoined } from './joined.js';

const SECRET = 'canary-joined-secret-9d2f7a1c64';
const scrubber = createScrubber({ secrets: [SECRET] });
const block = (text: string) => ({ type: 'text', text });

describe('parts read joined', () => {
  it('returns the same value when the joined parts hide nothing', () => {
    const result = { content: [block('hello '), block('world')], structuredContent: { a: ['x', 'y'] } };
    expect(scrubJoined(result, scrubber.text)).toBe(result);
  });

  it('redacts a secret cut across text blocks, the blocks around it kept', () => {
    const result = { content: [block(`key: ${SECRET.slice(0, 10)}`), block(`${SECRET.slice(10)} end`)] };
    const out = scrubJoined(result, scrubber.text);
    expect(out.content.map((c) => c.text)).toEqual(['key: [REDACTED:secret]', ' end']);
  });

  it('redacts a secret cut into one-character blocks', () => {
    const result = { content: [...SECRET].map(block) };
    const joined = scrubJoined(result, scrubber.text)
      .content.map((c) => c.text)
      .join('');
    expect(joined).toBe('[REDACTED:secret]');
  });

  it('reads structured strings apart from text blocks, keys and non-text fields left alone', () => {
    const result = {
      content: [{ type: 'image', data: SECRET.slice(0, 8), mimeType: 'image/png' }, block('plain')],
      structuredContent: { rows: [SECRET.slice(0, 5), SECRET.slice(5)], n: 3 },
    };
    const out = scrubJoined(result, scrubber.text);
    expect(out.content).toBe(result.content);
    expect(out.structuredContent.rows.join('')).toBe('[REDACTED:secret]');
    expect(out.structuredContent.n).toBe(3);
  });

  it('keeps a __proto__ key as data when it rewrites an object', () => {
    const structured = JSON.parse(`{"__proto__": "${SECRET.slice(0, 6)}", "b": "${SECRET.slice(6)}"}`);
    const out = scrubJoined({ structuredContent: structured }, scrubber.text);
    expect(Object.getPrototypeOf(out.structuredContent)).toBe(Object.prototype);
    expect(Object.values(out.structuredContent).join('')).toBe('[REDACTED:secret]');
  });
});

describe('parts read joined after text already shown', () => {
  it('redacts the rest of a secret whose start was shown before the answer', () => {
    const result = { content: [block(`${SECRET.slice(12)} done`)] };
    const out = scrubJoined(result, scrubber.text, `reading ${SECRET.slice(0, 12)}`);
    expect(out.content[0]?.text).toBe('[REDACTED:secret] done');
  });

  it('leaves the answer alone when only what was shown before holds something', () => {
    const result = { content: [block('done')] };
    expect(scrubJoined(result, scrubber.text, `reading ${SECRET} `)).toBe(result);
  });

  it("redacts a secret cut between a resource read's uri and its text", () => {
    const answer = { contents: [{ uri: `note://${SECRET.slice(0, 12)}`, text: SECRET.slice(12) }] };
    expect(JSON.stringify(scrubJoined(answer, scrubber.text))).not.toContain(SECRET.slice(12));
  });

  it("redacts a secret cut between a prompt message's text and an embedded resource's uri", () => {
    const answer = {
      messages: [
        { role: 'user', content: block(SECRET.slice(0, 12)) },
        { role: 'user', content: { type: 'resource', resource: { uri: SECRET.slice(12), text: 'x' } } },
      ],
    };
    expect(JSON.stringify(scrubJoined(answer, scrubber.text))).not.toContain(SECRET.slice(0, 12));
  });
});
