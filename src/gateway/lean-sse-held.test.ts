import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { InspectionWorkers } from '../inspect/worker/pool.js';
import { type HeldText, type LeanSseOptions, LONG_EVENT, useLeanSse } from './lean-sse.js';

/** The SDK transport's SSE entry point that useLeanSse replaces. */
interface SseEntry {
  _handleSseStream(stream: ReadableStream<Uint8Array>, options: object, isReconnectable: boolean): void;
}

/** What a reader hands on for `chunks`: the lean one with `options`, or (undefined) the SDK's own. */
async function read(
  chunks: readonly Uint8Array[],
  options: LeanSseOptions | undefined,
  /** How many messages and errors to wait for (a worker's parse may take long on a loaded machine). */
  expected = 0,
): Promise<{ messages: JSONRPCMessage[]; errors: string[] }> {
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
  if (options) useLeanSse(transport, options);
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  let closed!: () => void;
  const ended = new Promise<void>((resolve) => {
    closed = resolve;
  });
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e.message);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  (transport as unknown as SseEntry)._handleSseStream(
    stream.pipeThrough(new TransformStream({ flush: () => closed() })),
    {},
    false,
  );
  await ended;
  for (let waited = 0; messages.length + errors.length < expected && waited < 20_000; waited += 20)
    await new Promise((r) => setTimeout(r, 20));
  let last = -1;
  for (let still = 0; still < 5; ) {
    await new Promise((r) => setTimeout(r, 20));
    const now = messages.length + errors.length;
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return { messages, errors };
}

/** A `holdLong` that keeps a copy of the bytes, counting what is asked of it. */
function fakeHolder() {
  const counts = { held: 0, parsed: 0, read: 0, released: 0 };
  const holdLong = (bytes: Uint8Array): HeldText => {
    counts.held++;
    const copy = Buffer.from(bytes);
    let gone = false;
    const release = () => {
      if (!gone) counts.released++;
      gone = true;
    };
    const text = () => {
      if (gone) throw new Error('read after release');
      counts.read++;
      return copy.toString('latin1');
    };
    return {
      length: copy.length,
      text,
      parse: async () => {
        counts.parsed++;
        try {
          return JSON.parse(text()) as unknown;
        } finally {
          release();
        }
      },
      release,
    };
  };
  return { counts, holdLong };
}

const answer = (id: number, text: string) => ({
  jsonrpc: '2.0',
  id,
  result: { content: [{ type: 'text', text }] },
});

/** `bytes` cut at the given offsets. */
function cutAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const at of [...offsets, bytes.length]) {
    out.push(bytes.subarray(from, at));
    from = at;
  }
  return out;
}

describe('the lean SSE reader holding long data lines aside', () => {
  it('parses a long ASCII event from its held bytes, never reading it as text', async () => {
    const { counts, holdLong } = fakeHolder();
    const events = [answer(1, 'token='.repeat(LONG_EVENT / 3)), answer(2, 'short')];
    const bytes = Buffer.from(events.map((e) => `event: message\ndata: ${JSON.stringify(e)}\n\n`).join(''));
    const got = await read(cutAt(bytes, [65_536, 131_072, 600_000]), { holdLong });
    expect(got.messages).toEqual(events);
    expect(counts).toEqual({ held: 1, parsed: 1, read: 1, released: 1 });
  });

  // A seeded generator: the same streams on every run.
  const random = seeded(11);
  /** One event: long or short, one data line or several, another type, an id, a comment, bad JSON. */
  const event = (id: number): string => {
    const long = random.float() < 0.6;
    const text = `${random.pick(['token=', 'x', 'ab"c\\', 'é'])}`.repeat(
      long ? LONG_EVENT / 3 + random.int(50_000) : random.int(100),
    );
    const json = JSON.stringify(answer(id, text));
    const shape = random.pick(['one', 'one', 'split', 'other type', 'id', 'comment', 'bad', 'nospace']);
    const head = random.pick(['', 'event: message\n', `id: ${id}\n`]);
    switch (shape) {
      case 'split': {
        const at = Math.floor(json.length / 2);
        return `${head}data: ${json.slice(0, at)}\ndata: ${json.slice(at)}\n\n`;
      }
      case 'other type':
        return `event: note\ndata: ${json}\n\n`;
      case 'id':
        return `id: ${id}\ndata: ${json}\n\n`;
      case 'comment':
        return `: keep-alive\n${head}data: ${json}\n\n`;
      case 'bad':
        return `${head}data: ${json.slice(0, -1)}\n\n`;
      case 'nospace':
        return `${head}data:${json}\n\n`;
      default:
        return `${head}data: ${json}\n\n`;
    }
  };

  it('hands on what the SDK reader hands on for 40 random streams cut at random offsets, every held line let go', async () => {
    let held = 0;
    for (let round = 0; round < 40; round++) {
      const texts = Array.from({ length: 1 + random.int(4) }, (_, i) => event(i + 1));
      // Some streams end an event with \r\n (held lines are not taken then), some end mid-event.
      let whole = texts.join('');
      if (round % 7 === 3) whole = whole.replaceAll('\n', '\r\n');
      if (round % 9 === 4) whole = whole.slice(0, -1);
      const bytes = Buffer.from(whole);
      const offsets = [
        ...new Set(Array.from({ length: random.int(8) }, () => 1 + random.int(bytes.length - 1))),
      ].sort((a, b) => a - b);
      const chunks = cutAt(bytes, offsets);
      const fake = fakeHolder();
      const lean = await read(chunks, { holdLong: fake.holdLong });
      const sdk = await read(chunks, undefined);
      expect(lean.errors).toEqual(sdk.errors);
      expect(lean.messages).toEqual(sdk.messages);
      expect(fake.counts.released).toBe(fake.counts.held);
      held += fake.counts.held;
    }
    expect(held).toBeGreaterThan(20);
  }, 120_000);

  it('puts a held line back as text when its event has other data lines', async () => {
    const { counts, holdLong } = fakeHolder();
    const json = JSON.stringify(answer(1, 'y'.repeat(LONG_EVENT)));
    const bytes = Buffer.from(`data: ${json.slice(0, 10)}\ndata: ${json.slice(10)}\n\n`);
    const got = await read([bytes], { holdLong });
    expect(got.messages).toEqual([JSON.parse(`${json.slice(0, 10)}\n${json.slice(10)}`)]);
    expect(counts).toMatchObject({ held: 1, parsed: 0, released: 1 });
  });
});

describe('the lean SSE reader with the inspection workers holding long lines', () => {
  const workers = new InspectionWorkers(1);
  // The worker started first: the reader is read until nothing more comes for 100 ms.
  beforeAll(async () => {
    await workers.holdJson(Buffer.from('[1]'))?.parse();
  });
  afterAll(async () => {
    await workers.close();
  });

  it('hands on the same messages as the SDK reader, parsed in a worker from the bytes', async () => {
    const events = [
      answer(1, 'token='.repeat(700_000)),
      answer(2, 'short'),
      answer(3, `${'q'.repeat(LONG_EVENT)}\u00e9\ud800"\\`),
    ];
    // ASCII on the wire, as JSON escapes (JSON.stringify leaves é as it is).
    const wire = (e: object) => JSON.stringify(e).replaceAll('\u00e9', '\\u00e9');
    const bytes = Buffer.from(events.map((e) => `data: ${wire(e)}\n\n`).join(''));
    expect(bytes.length).toBe(bytes.toString().length);
    const chunks = cutAt(bytes, [65_536, 1_000_000, 4_000_000]);
    const before = workers.counts.jobs;
    const lean = await read(chunks, { holdLong: (b) => workers.holdJson(b) }, events.length);
    const sdk = await read(chunks, undefined);
    expect(lean.messages).toEqual(sdk.messages);
    expect(lean.messages).toEqual(events);
    expect(workers.counts.jobs - before).toBe(2);
    expect(workers.slabs.kept()).toBeGreaterThan(0);
  }, 30_000);
});
