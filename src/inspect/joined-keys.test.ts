/**
 * Parts of one answer that were not read joined: the keys of structured
 * content (a secret cut between a key and its value, or written in
 * look-alike letters in a key, reached the agent whole) and a resource
 * link's name, title, uri and description (a secret cut between the name
 * and the description). A reader reads them as it reads the strings beside
 * them.
 */
import { describe, expect, it } from 'vitest';
import { createScrubber } from '../scrub/index.js';
import { scrubJoined } from './joined.js';

const SECRET = 'canary-joined-secret-9d2f7a1c64';
const scrubber = createScrubber({ secrets: [SECRET] });

describe('keys of structured content, read joined with the strings around them', () => {
  it('redacts a secret cut between a key and its value', () => {
    const out = scrubJoined(
      { structuredContent: { [SECRET.slice(0, 12)]: SECRET.slice(12) } },
      scrubber.text,
    );
    expect(JSON.stringify(out)).not.toContain(SECRET.slice(0, 12));
    expect(JSON.stringify(out)).not.toContain(SECRET.slice(12));
    expect(Object.entries(out.structuredContent).flat().join('')).toBe('[REDACTED:secret]');
  });

  it('redacts a secret written in look-alike letters in a key', () => {
    const lookAlike = SECRET.replace(/a/g, '\u0430');
    const out = scrubJoined({ structuredContent: { [lookAlike]: 1 } }, scrubber.text);
    expect(Object.keys(out.structuredContent)).toEqual(['[REDACTED:secret]']);
    expect(out.structuredContent['[REDACTED:secret]']).toBe(1);
  });

  it('keeps every value when two rewritten keys would collide', () => {
    const half = SECRET.slice(0, 12);
    const rest = SECRET.slice(12);
    const out = scrubJoined(
      { structuredContent: { a: { [half]: 1 }, [rest]: 2, '[REDACTED:secret]': 3 } },
      scrubber.text,
    );
    expect(Object.values(out.structuredContent)).toHaveLength(3);
    expect(JSON.stringify(out)).not.toContain(half);
  });

  it('leaves keys that hide nothing, and their order, as they were', () => {
    const value = { structuredContent: { b: 'x', a: 'y' } };
    expect(scrubJoined(value, scrubber.text)).toBe(value);
  });
});

describe("a resource link's fields, read joined with the text beside them", () => {
  it('redacts a secret cut between a link name and its description', () => {
    const link = {
      type: 'resource_link',
      uri: 'https://files.example/a',
      name: SECRET.slice(0, 12),
      description: SECRET.slice(12),
    };
    const out = scrubJoined({ content: [link] }, scrubber.text);
    expect(JSON.stringify(out)).not.toContain(SECRET.slice(12));
    expect(`${out.content[0]?.name}${out.content[0]?.description}`).toBe('[REDACTED:secret]');
    expect(out.content[0]?.uri).toBe('https://files.example/a');
  });

  it('redacts a secret cut between a text block and a link after it', () => {
    const out = scrubJoined(
      {
        content: [
          { type: 'text', text: `see ${SECRET.slice(0, 12)}` },
          { type: 'resource_link', uri: 'https://files.example/a', name: `${SECRET.slice(12)}.txt` },
        ],
      },
      scrubber.text,
    );
    expect(JSON.stringify(out)).not.toContain(SECRET.slice(12));
  });
});
