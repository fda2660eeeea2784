import { describe, expect, it } from 'vitest';
import { createScrubber, type Scrubber } from '../scrub/index.js';
import { returnedHeaders } from './headers.js';
import type { UpstreamResponse } from './upstream.js';

const SECRET = 'sk-ant-real-key-for-tests-0123456789';

const answer = (headers: Record<string, string>) => ({ status: 200, headers }) as unknown as UpstreamResponse;

/** The real scrubber, with every string it is asked about counted. */
function countingScrubber(): { scrubber: Scrubber; asked: string[] } {
  const real = createScrubber({ secrets: [SECRET] });
  const asked: string[] = [];
  const scrubber: Scrubber = {
    ...real,
    text: (input) => {
      asked.push(input);
      return real.text(input);
    },
  };
  return { scrubber, asked };
}

describe('returnedHeaders', () => {
  it('passes the two media types the APIs answer with without scrubbing them', () => {
    const { scrubber, asked } = countingScrubber();
    const sse = returnedHeaders(answer({ 'content-type': 'text/event-stream; charset=utf-8' }), scrubber);
    const json = returnedHeaders(answer({ 'content-type': 'Application/JSON' }), scrubber);
    expect(sse['content-type']).toBe('text/event-stream');
    expect(json['content-type']).toBe('application/json');
    expect(asked).toEqual([]);
  });

  it('still drops any other media type that holds the key', () => {
    const { scrubber, asked } = countingScrubber();
    const headers = returnedHeaders(answer({ 'content-type': `text/${SECRET}` }), scrubber);
    expect(asked).toEqual([`text/${SECRET}`]);
    // Dropped, and the proxy's own default said instead.
    expect(headers['content-type']).toBe('application/json');
  });

  it('still drops a request id that is the key', () => {
    const { scrubber } = countingScrubber();
    const headers = returnedHeaders(
      answer({ 'content-type': 'text/event-stream', 'request-id': SECRET }),
      scrubber,
    );
    expect(headers['request-id']).toBeUndefined();
    expect(headers['content-type']).toBe('text/event-stream');
  });
});
