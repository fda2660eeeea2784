import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { createScrubber } from '../scrub/index.js';
import { UpstreamWarnings } from './upstream-warnings.js';

/** A logger whose lines are kept, parsed. */
function captured(): { lines: Record<string, unknown>[]; warnings: UpstreamWarnings } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ scrubber: createScrubber(), destination, level: 'info' });
  return { lines, warnings: new UpstreamWarnings(logger) };
}

describe('what the upstream pool says about an inspection worker failing to parse', () => {
  it('says it once per gateway, naming the first upstream and the error, however often it happens', () => {
    const { lines, warnings } = captured();
    warnings.parseFallback('files', new Error('worker gone'));
    warnings.parseFallback('files', new Error('worker gone again'));
    warnings.parseFallback('mail', new Error('worker gone on another upstream'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      upstream: 'files',
      err: { message: 'worker gone' },
      msg: expect.stringContaining('parsed on the event loop'),
    });
  });
});
