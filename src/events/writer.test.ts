/**
 * The writer's group commit hands the store one kind of item whatever gate an event carries.
 * Items built with the absent gates left out (or by a spread and then more keys) come in many
 * hidden classes, and on Node 20 a spread followed by more keys makes a fresh one for every
 * object once optimised: every read of them in the flush and the store then misses V8's caches.
 */
import { describe, expect, it } from 'vitest';
import { createScrubber } from '../scrub/index.js';
import type { BatchItem, EventStore } from '../store/store.js';
import type { AuditEvent, NewEvent } from './event.js';
import { EventWriter } from './writer.js';

function batchingStore(seen: BatchItem[]): EventStore {
  const stored = (event: NewEvent, i: number): AuditEvent =>
    ({ ...event, id: i + 1 }) as unknown as AuditEvent;
  return {
    appendBatch: async (items: readonly BatchItem[]) => {
      seen.push(...items);
      return items.map((item, i) => stored(item.event, i));
    },
  } as unknown as EventStore;
}

const event = (n: number): NewEvent => ({
  kind: 'tools/call',
  runId: 'run_1',
  tool: 'http__echo',
  decision: 'allow',
  code: null,
  actor: 'run:run_1',
  data: { n },
});

describe('event writer group commit', () => {
  it('hands the store every item with the same keys in the same order, whatever its gate', async () => {
    const seen: BatchItem[] = [];
    const writer = new EventWriter(batchingStore(seen), createScrubber());
    await Promise.all([
      writer.write(event(1)),
      writer.writeClosing(event(2), 'int_1'),
      writer.writeMarking(event(3), 'apr_1'),
      writer.writeRetiring(event(4), { id: 'rep_1' }),
      writer.writeMoving(event(5), { id: 'apr_2', from: ['pending'], to: 'withdrawn', at: 1 }),
      writer.writeSettling(event(6), { id: 'res_1', before: 1 }),
      writer.writeAlert(event(7), { runId: 'run_1', dimension: 'usd', fraction: 0.8 }),
    ]);
    expect(seen).toHaveLength(7);
    const keys = seen.map((item) => Object.keys(item).join(','));
    expect(new Set(keys).size).toBe(1);
    expect(Object.keys(seen[0] as BatchItem).sort()).toEqual(
      ['alerts', 'closes', 'event', 'marksUnknown', 'moves', 'retires', 'settles'].sort(),
    );
  });

  it('still hands each item only its own gate', async () => {
    const seen: BatchItem[] = [];
    const writer = new EventWriter(batchingStore(seen), createScrubber());
    const alert = { runId: 'run_1', dimension: 'usd', fraction: 0.8 };
    await Promise.all([
      writer.write(event(1)),
      writer.writeClosing(event(2), 'int_1'),
      writer.writeAlert(event(3), alert),
    ]);
    expect(seen.map((i) => [i.closes, i.marksUnknown, i.retires, i.moves, i.settles, i.alerts])).toEqual([
      [undefined, undefined, undefined, undefined, undefined, undefined],
      ['int_1', undefined, undefined, undefined, undefined, undefined],
      [undefined, undefined, undefined, undefined, undefined, alert],
    ]);
  });
});
