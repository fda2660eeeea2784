import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectionWorkers } from './pool.js';
import { WORKER_NICE } from './priority.js';

/** A thread's nice value as the kernel reports it (field 19 of its stat line). */
function niceOf(statFile: string): number {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[16]);
}

const workers = new InspectionWorkers(1);
afterAll(async () => {
  await workers.close();
});

const answer = (text: string) =>
  Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } }));
const cutIn = (message: Buffer, maxBytes: number) => workers.cut([message], message.length, 'json', maxBytes);

describe('inspection workers run below the event loop', () => {
  it.runIf(process.platform === 'linux')(
    'lowers the worker thread to WORKER_NICE and leaves the calling thread as it was',
    async () => {
      const before = niceOf('/proc/thread-self/stat');
      const cut = await cutIn(answer('x'.repeat(300 * 1024)), 1024);
      expect('text' in cut).toBe(true);
      const [priority, ...more] = workers.priorities();
      expect(more).toEqual([]);
      if (priority?.tid === undefined) throw new Error(`no priority reported: ${JSON.stringify(priority)}`);
      expect(priority.nice).toBe(WORKER_NICE);
      // Read back from the kernel, not from the worker's word: that thread of this process is lowered.
      expect(niceOf(`/proc/${process.pid}/task/${priority.tid}/stat`)).toBe(WORKER_NICE);
      expect(niceOf('/proc/thread-self/stat')).toBe(before);
    },
    60_000,
  );

  it('still cuts a message past the cap to the budget in a lowered worker', async () => {
    const cut = await cutIn(answer(`${'y'.repeat(2048)}${'z'.repeat(400 * 1024)}`), 1024);
    if (!('text' in cut)) throw new Error('not cut');
    const message = JSON.parse(cut.text) as { result: { content: { text: string }[] } };
    expect(message.result.content[0]?.text).toBe('y'.repeat(1025));
  }, 60_000);
});
