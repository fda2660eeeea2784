import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { LONG_EVENT, useLeanSse } from './lean-sse.js';

/** The SDK transport's SSE entry point that useLeanSse replaces. */
interface SseEntry {
  _handleSseStream(stream: ReadableStream<Uint8Array>, options: object, isReconnectable: boolean): void;
}

/** What the lean reader (or the SDK's own) hands on for `chunks` (bytes in that order), once the stream has ended. */
async function read(
  chunks: readonly Uint8Array[],
  { lean = true } = {},
): Promise<{ messages: JSONRPCMessage[]; errors: Error[] }> {
  const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
  if (lean) useLeanSse(transport);
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  let closed!: () => void;
  const ended = new Promise<void>((resolve) => {
    closed = resolve;
  });
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  // The reader reads the stream to its end on its own: wait until it has (its reads are microtasks).
  (transport as unknown as SseEntry)._handleSseStream(
    stream.pipeThrough(new TransformStream({ flush: () => closed() })),
    {},
    false,
  );
  await ended;
  // A long event is handed on turns of the loop after it was read: wait until nothing more comes.
  await settled(() => messages.length + errors.length);
  return { messages, errors };
}

/**
 * Resolves once `count` has not changed for 100 ms: a long event is handed on turns of the loop
 * after the stream ends, later than a fixed wait allowed on a loaded machine.
 */
async function settled(count: () => number): Promise<void> {
  let last = -1;
  let still = 0;
  while (still < 5) {
    await new Promise((r) => setTimeout(r, 20));
    const now = count();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

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

const answer = (id: number, text: string) => ({
  jsonrpc: '2.0',
  id,
  result: { content: [{ type: 'text', text }] },
});

describe('the lean SSE reader, however the stream is cut', () => {
  const big = answer(2, `${'x'.repeat(300_000)}é€😀`);
  const stream = new TextEncoder().encode(
    [
      `id: 1\nevent: message\ndata: ${JSON.stringify(answer(1, 'small'))}\n\n`,
      // A long event: most of its chunks hold no line break at all.
      `event: message\ndata: ${JSON.stringify(big)}\n\n`,
      ': a comment\n\n',
      `data: ${JSON.stringify(answer(3, 'crlf é'))}\r\n\r\n`,
      // Lines ended by a lone CR: held bytes must not wait for a LF that never comes.
      `data: ${JSON.stringify(answer(4, 'cr only'))}\r\r`,
      `data: ${JSON.stringify(answer(5, 'last'))}\n\n`,
    ].join(''),
  );
  const expected = [answer(1, 'small'), big, answer(3, 'crlf é'), answer(4, 'cr only'), answer(5, 'last')];

  it('gives every message when read in one chunk', async () => {
    const { messages, errors } = await read([stream]);
    expect(errors).toEqual([]);
    expect(messages).toEqual(expected);
  });

  it('gives the same messages in 64 KB chunks and in chunks that split characters and line ends', async () => {
    const every = (size: number) =>
      Array.from({ length: Math.floor((stream.length - 1) / size) }, (_, i) => (i + 1) * size);
    const text = new TextDecoder().decode(stream);
    const inside = (s: string, k: number) =>
      new TextEncoder().encode(text.slice(0, text.indexOf(s))).length + k;
    for (const offsets of [
      every(64 * 1024),
      every(4093),
      // Inside the multi-byte é, € and 😀, between \r and \n, and right after a lone \r.
      [inside('é€😀', 1), inside('€😀', 2), inside('😀', 3), inside('\r\n\r\n', 1), inside('\r\r', 1)],
    ]) {
      const { messages, errors } = await read(cutAt(stream, offsets));
      expect(errors).toEqual([]);
      expect(messages).toEqual(expected);
    }
  }, 30_000);

  it('decodes malformed UTF-8 and byte order marks in a long event as the streaming decoder does', async () => {
    const bad = [0xe0, 0x80, 0x41, 0xff, 0xbf, 0xf0, 0x9f, 0x98, 0xef, 0xbb, 0xbf, 0xc3];
    const long = (id: number) => {
      const json = Buffer.from(JSON.stringify(answer(id, `${'z'.repeat(150_000)}@@`)));
      const at = json.indexOf('@@');
      // Raw bytes inside the JSON string: a truncated sequence, stray bytes, a BOM, a lone lead.
      return Buffer.concat([
        Buffer.from('data: '),
        json.subarray(0, at),
        Buffer.from(bad),
        json.subarray(at + 2),
        Buffer.from('\n\n'),
      ]);
    };
    for (const start of [Buffer.alloc(0), Buffer.from([0xef, 0xbb, 0xbf])]) {
      const whole = Buffer.concat([
        start,
        long(1),
        Buffer.from(`data: ${JSON.stringify(answer(2, 'mid'))}\n\n`),
        long(3),
      ]);
      const reference = await read([whole]);
      expect(reference.errors).toEqual([]);
      expect(reference.messages).toHaveLength(3);
      // Every cut: held chunks with no line end, joined and decoded whole.
      for (const size of [65_536, 4093, 1000]) {
        const offsets = Array.from(
          { length: Math.floor((whole.length - 1) / size) },
          (_, i) => (i + 1) * size,
        );
        const chunked = await read(cutAt(whole, offsets));
        expect(chunked.errors).toEqual([]);
        expect(chunked.messages).toEqual(reference.messages);
      }
    }
  }, 30_000);

  for (const [ending, name] of [
    ['\n\n', 'LF'],
    // The parser holds a CR that ends its chunk (a LF may follow): the comment's start shows it none does.
    ['\r\r:', 'lone CR'],
  ] as const) {
    it(`hands on an event as soon as its closing chunk arrives (${name}), not at the end of the stream`, async () => {
      const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
      useLeanSse(transport);
      const messages: JSONRPCMessage[] = [];
      transport.onmessage = (m) => messages.push(m);
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          controller = c;
        },
      });
      (transport as unknown as SseEntry)._handleSseStream(stream, {}, false);
      const event = new TextEncoder().encode(
        `data: ${JSON.stringify(answer(7, 'y'.repeat(200_000)))}${ending}`,
      );
      controller.enqueue(event.subarray(0, 100_000));
      controller.enqueue(event.subarray(100_000, event.length - ending.length));
      await new Promise((r) => setTimeout(r, 20));
      expect(messages).toEqual([]);
      controller.enqueue(event.subarray(event.length - ending.length));
      await new Promise((r) => setTimeout(r, 20));
      expect(messages).toHaveLength(1);
      controller.close();
    });
  }
});

describe('the lean SSE reader, beside other work on the event loop', () => {
  /** Reads `events` (each whole in one chunk); `onmessage` says whether a turn of the loop queued with the last chunk ran first. */
  async function turnsBeforeMessages(events: readonly object[]): Promise<{ id: unknown; after: boolean }[]> {
    const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
    useLeanSse(transport);
    const seen: { id: unknown; after: boolean }[] = [];
    let turned = false;
    transport.onmessage = (m) => seen.push({ id: 'id' in m ? m.id : undefined, after: turned });
    const chunks = events.map((e) =>
      new TextEncoder().encode(`event: message\ndata: ${JSON.stringify(e)}\n\n`),
    );
    let next = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks[next++];
        if (!chunk) return controller.close();
        // Another agent's work, queued as this chunk is read.
        turned = false;
        setImmediate(() => {
          turned = true;
        });
        controller.enqueue(chunk);
      },
    });
    (transport as unknown as SseEntry)._handleSseStream(stream, {}, false);
    // Until every event is handed on (a loaded machine takes longer than a fixed wait allowed).
    await vi.waitFor(() => expect(seen).toHaveLength(events.length), { timeout: 5000, interval: 10 });
    return seen;
  }

  it('lets other work run before handing on an event of 256K characters or more', async () => {
    const seen = await turnsBeforeMessages([answer(1, 'x'.repeat(LONG_EVENT))]);
    expect(seen).toEqual([{ id: 1, after: true }]);
  });

  it('hands on a short event in the turn that read it', async () => {
    const seen = await turnsBeforeMessages([answer(1, 'short')]);
    expect(seen).toEqual([{ id: 1, after: false }]);
  });

  it('keeps the order of events when a long one comes first', async () => {
    const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
    useLeanSse(transport);
    const ids: unknown[] = [];
    transport.onmessage = (m) => ids.push('id' in m ? m.id : undefined);
    const text = [answer(1, 'x'.repeat(LONG_EVENT)), answer(2, 'short'), answer(3, 'y'.repeat(LONG_EVENT))]
      .map((e) => `event: message\ndata: ${JSON.stringify(e)}\n\n`)
      .join('');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    });
    (transport as unknown as SseEntry)._handleSseStream(stream, {}, false);
    await vi.waitFor(() => expect(ids).toHaveLength(3), { timeout: 5000, interval: 10 });
    expect(ids).toEqual([1, 2, 3]);
  });
});

/** What the SDK's own SSE reader (its TextDecoderStream and EventSourceParserStream) hands on for `chunks`. */
function readWithSdk(
  chunks: readonly Uint8Array[],
): Promise<{ messages: JSONRPCMessage[]; errors: Error[] }> {
  return read(chunks, { lean: false });
}

describe('the lean SSE reader against the SDK reader', () => {
  // A seeded generator: the same streams on every run.
  const random = seeded(7);
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  /** One event's bytes: ASCII text, accented or emoji text, or raw BOM bytes inside its JSON string. */
  const event = (id: number): Buffer => {
    const body = random.pick(['plain', 'accented', 'bom', 'long']);
    const text =
      body === 'accented' ? `é€😀 ${'y'.repeat(random.int(3000))}` : 'x'.repeat(random.int(70_000));
    const json = Buffer.from(JSON.stringify(answer(id, `${text}@@`)));
    const at = json.indexOf('@@');
    const middle = body === 'bom' ? BOM : Buffer.from('ok');
    const head = random.pick(['', 'event: message\n', `id: ${id}\n`]);
    const end = random.pick(['\n\n', '\r\n\r\n']);
    return Buffer.concat([
      Buffer.from(`${head}data: `),
      json.subarray(0, at),
      middle,
      json.subarray(at + 2),
      Buffer.from(end),
    ]);
  };

  it('hands on the same messages for 60 random streams, each cut at random offsets', async () => {
    for (let round = 0; round < 60; round++) {
      const events = Array.from({ length: 1 + random.int(4) }, (_, i) => event(i + 1));
      // Some streams start with a byte order mark (the decoder drops it), or with a BOM right after an
      // ASCII event (text then: it must be kept).
      const start = round % 5 === 0 ? [BOM] : [];
      const whole = Buffer.concat([...start, ...events]);
      const offsets = [
        ...new Set(Array.from({ length: random.int(8) }, () => 1 + random.int(whole.length - 1))),
      ].sort((a, b) => a - b);
      const chunks = cutAt(whole, offsets);
      const lean = await read(chunks);
      const sdk = await readWithSdk(chunks);
      expect(lean.errors.map((e) => e.message)).toEqual(sdk.errors.map((e) => e.message));
      expect(lean.messages).toEqual(sdk.messages);
      expect(lean.messages).toHaveLength(events.length);
    }
  }, 60_000);

  it('keeps a byte order mark that starts a chunk after an ASCII first event', async () => {
    const first = Buffer.from(`data: ${JSON.stringify(answer(1, 'ascii'))}\n\n`);
    const second = Buffer.concat([BOM, Buffer.from(`data: ${JSON.stringify(answer(2, 'after'))}\n\n`)]);
    const lean = await read([first, second]);
    const sdk = await readWithSdk([first, second]);
    expect(lean.messages).toEqual(sdk.messages);
    expect(lean.errors.length).toBe(sdk.errors.length);
  });
});

describe('the lean SSE reader, several streams at once', () => {
  it('gives each stream its own long events when their chunks arrive interleaved (one join buffer is reused)', async () => {
    const streams = [0, 1, 2].map((n) => {
      const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
      useLeanSse(transport);
      const messages: JSONRPCMessage[] = [];
      transport.onmessage = (m) => messages.push(m);
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          controller = c;
        },
      });
      (transport as unknown as SseEntry)._handleSseStream(stream, {}, false);
      // Different sizes and letters (one not ASCII), so a shared buffer's leftovers would show.
      const texts = [`${'a'.repeat(300_000 - n * 50_000)}`, `${'é'.repeat(90_000 + n)}b`];
      const bytes = new TextEncoder().encode(
        texts.map((t, i) => `data: ${JSON.stringify(answer(i + 1, t))}\n\n`).join(''),
      );
      return {
        messages,
        controller,
        chunks: cutAt(
          bytes,
          Array.from({ length: 12 }, (_, i) => (i + 1) * 40_000),
        ),
        texts,
      };
    });
    for (let i = 0; i < 13; i++) {
      for (const s of streams) {
        const chunk = s.chunks[i];
        if (chunk) s.controller.enqueue(chunk);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    for (const s of streams) s.controller.close();
    await new Promise((r) => setTimeout(r, 50));
    for (const s of streams) expect(s.messages).toEqual(s.texts.map((t, i) => answer(i + 1, t)));
  });
});

describe('the lean SSE reader with a parser for long events', () => {
  it("hands a long event's data to parseLong, in order with the short events around it", async () => {
    const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
    const asked: number[] = [];
    useLeanSse(transport, {
      parseLong: async (text) => {
        asked.push(text.length);
        // Slower than the short events behind it: they must still come after.
        await new Promise((r) => setTimeout(r, 30));
        return JSON.parse(text) as unknown;
      },
    });
    const messages: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    transport.onmessage = (m) => messages.push(m);
    transport.onerror = (e) => errors.push(e);
    const events = [answer(1, 'a'.repeat(LONG_EVENT)), answer(2, 'short'), answer(3, 'b'.repeat(LONG_EVENT))];
    const bytes = new TextEncoder().encode(
      `${events.map((e) => `event: message\ndata: ${JSON.stringify(e)}\n\n`).join('')}data: {"bad":${'1'.repeat(LONG_EVENT)}\n\n`,
    );
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    (transport as unknown as SseEntry)._handleSseStream(stream, {}, false);
    await settled(() => messages.length + errors.length);
    expect(messages).toEqual(events);
    expect(asked).toHaveLength(3);
    // A long event that is not JSON fails as the SDK's reader fails it: an error, no message.
    expect(errors).toHaveLength(1);
  });
});
