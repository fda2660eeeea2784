/**
 * A result nested deeper than a structured clone can follow (JSON.parse takes any depth, so a
 * hostile upstream can send one): over the worker size it is inspected as it is under it, the
 * nesting past the inspection's cap null, never refused for its size nor leaking what it held.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createScrubber } from '../scrub/index.js';
import { inspectOutput, LARGE_OUTPUT } from './output.js';
import { inspectionWorkers } from './worker/pool.js';

const SECRET = 'sk-ant-api03-deepsecretvalue0123456789abcdefghij';
const deep = (depth: number) => `${'['.repeat(depth)}"${SECRET}"${']'.repeat(depth)}`;
const resultOf = (pad: number) =>
  JSON.parse(
    `{"content":[{"type":"text","text":"${'x'.repeat(pad)}"}],"structuredContent":{"rows":${deep(200_000)}}}`,
  );
const options = { maxBytes: 10_000_000 };

describe('a result nested 200,000 deep', () => {
  const scrubber = createScrubber({});
  afterAll(async () => {
    await inspectionWorkers().close();
  });

  it('is inspected over the worker size as under it: the same structured content, no secret', async () => {
    const small = await inspectOutput(resultOf(10), options, scrubber);
    const large = await inspectOutput(resultOf(LARGE_OUTPUT + 10), options, scrubber);
    const shown = JSON.stringify(large.result.structuredContent);
    expect(shown).toBe(JSON.stringify(small.result.structuredContent));
    expect(shown).not.toContain('deepsecretvalue');
  });

  it('leaves no job pending and no slab lent when its first posting fails', async () => {
    const workers = inspectionWorkers();
    const inspect = () =>
      inspectOutput(resultOf(LARGE_OUTPUT + 10), options, scrubber).catch(() => undefined);
    await inspect();
    const made = workers.slabs.counts.made;
    for (let i = 0; i < 5; i++) await inspect();
    expect(workers.load().every((jobs) => jobs === 0)).toBe(true);
    expect(workers.slabs.counts.made).toBe(made);
  });
});
