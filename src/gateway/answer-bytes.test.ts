import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { type HttpBindings, type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { pooledBuffers, takeBuffer } from '../util/buffer-pool.js';
import { LONG_ANSWER, longAnswerAsBytes } from './answer-bytes.js';

/** The agent-facing server, answering every request with `answer(its node response, its path)`. */
let server: ServerType;
let port = 0;
let answer: (outgoing: ServerResponse, path: string) => Response | Promise<Response> = () => new Response('');

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve(
      {
        fetch: (request, env) => answer((env as HttpBindings).outgoing, new URL(request.url).search),
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(),
    );
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Every byte the server sends for one request, its `Date` header taken out (it moves with the clock). */
function exchange(query = '', readAfterMs = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    // A reader that starts late (on loopback the kernel may still take the whole answer meanwhile).
    if (readAfterMs > 0) {
      socket.pause();
      setTimeout(() => socket.resume(), readAfterMs);
    }
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve(Buffer.from(raw.replace(/\r\nDate: [^\r]*/i, ''), 'latin1'));
    });
    socket.write(
      `POST /mcp${query} HTTP/1.1\r\nHost: gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  });
}

/** What the SDK answers with: its JSON text and its headers. */
const sdkAnswer = (text: string) =>
  new Response(text, {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'mcp-session-id': 'session-1' },
  });

/** A JSON-RPC answer of at least `LONG_ANSWER` characters drawn from `alphabet`, seeded. */
function longText(seed: number, alphabet: readonly string[]): string {
  const random = seeded(seed);
  const pieces: string[] = [];
  let length = 0;
  while (length < LONG_ANSWER + (seed % 7) * 1000) {
    const piece = random.pick(alphabet);
    pieces.push(piece);
    length += piece.length;
  }
  return JSON.stringify({
    jsonrpc: '2.0',
    id: seed,
    result: { content: [{ type: 'text', text: pieces.join('') }] },
  });
}

describe("an agent's long answer, handed to the server as its bytes", () => {
  it('is a new Response a turn later when the body is long, and the same Response when it is short', async () => {
    const short = sdkAnswer('{"jsonrpc":"2.0","id":1,"result":{}}');
    expect(longAnswerAsBytes(short)).toBe(short);
    const long = sdkAnswer(longText(1, ['token=']));
    const converted = longAnswerAsBytes(long);
    expect(converted).toBeInstanceOf(Promise);
    expect(await converted).not.toBe(long);
  });

  it('goes out byte for byte as the SDK string did (status line, headers, length, body) on many answers, pooled or not', async () => {
    const alphabets: readonly (readonly string[])[] = [
      ['token='],
      ['a', 'é', '€', '😀', ' ', '\\n'],
      // Lone surrogates (JSON.stringify escapes them, but a body string may hold them raw) and ASCII.
      ['x', '\ud800', '\udfff', '\ud83d\ude00', 'y'],
      ['ÿ', 'ñ', 'A'],
    ];
    for (let seed = 1; seed <= 24; seed++) {
      const alphabet = alphabets[seed % alphabets.length] as readonly string[];
      const text = seed % 5 === 0 ? `${longText(seed, alphabet)}\ud800` : longText(seed, alphabet);
      answer = () => sdkAnswer(text);
      const asString = await exchange();
      answer = () => longAnswerAsBytes(sdkAnswer(text));
      const asBytes = await exchange();
      expect(asBytes.length).toBe(asString.length);
      expect(asBytes.equals(asString)).toBe(true);
      answer = (outgoing) => longAnswerAsBytes(sdkAnswer(text), outgoing);
      expect((await exchange()).equals(asString)).toBe(true);
    }
  }, 60_000);

  it('goes out byte for byte from pooled buffers too, many at once to agents that read slowly', async () => {
    // Near the pool's largest kept size (2 MB), each to a reader that waits a while.
    const texts = Array.from({ length: 8 }, (_, k) =>
      longText(100 + k, k % 2 ? ['a', 'é', '€', '😀', '\ud800'] : ['token=', 'x']).repeat(5),
    );
    const expected: Buffer[] = [];
    for (const text of texts) {
      answer = () => sdkAnswer(text);
      expected.push(await exchange());
    }
    // The answer a request gets is the text its own number names: `POST /mcp?k`.
    answer = (outgoing, query) =>
      longAnswerAsBytes(sdkAnswer(texts[Number(query.slice(1))] as string), outgoing);
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all(texts.map((_, k) => exchange(`?${k}`, 60 + 20 * k)));
      got.forEach((bytes, k) => {
        expect(bytes.equals(expected[k] as Buffer)).toBe(true);
      });
    }
  }, 60_000);

  it('takes a pooled buffer back once the answer is sent, and once only', async () => {
    const text = longText(7, ['token=']);
    answer = (outgoing) => longAnswerAsBytes(sdkAnswer(text), outgoing);
    // An empty pool, so a buffer given back twice would count twice (a full one keeps only one).
    emptyPool();
    await exchange();
    expect(pooledBuffers()).toBe(1);
    // The next answers take that buffer and give it back: the pool neither grows nor loses it.
    await exchange();
    await exchange();
    expect(pooledBuffers()).toBe(1);
  });

  it('takes a pooled buffer back when the agent leaves in the middle of its answer, and the next answers are whole', async () => {
    const text = longText(11, ['a', 'é', '€']).repeat(4);
    answer = () => sdkAnswer(text);
    const whole = await exchange();
    let ended: (() => void) | undefined;
    const closed = new Promise<void>((resolve) => {
      ended = resolve;
    });
    answer = (outgoing) => {
      outgoing.once('close', () => ended?.());
      return longAnswerAsBytes(sdkAnswer(text), outgoing);
    };
    // Warm: the pool holds one buffer, which this answer fits.
    emptyPool();
    await exchange();
    const before = pooledBuffers();
    // Reads the answer's first bytes, then leaves while the rest is still on its way.
    const socket = connect(port, '127.0.0.1');
    socket.once('data', () => socket.destroy());
    socket.write('POST /mcp HTTP/1.1\r\nHost: gateway\r\nContent-Length: 0\r\n\r\n');
    await closed;
    // Given back once (by 'finish' or by 'close'), never twice: the pool is as it was.
    expect(pooledBuffers()).toBe(before);
    answer = (outgoing) => longAnswerAsBytes(sdkAnswer(text), outgoing);
    for (let i = 0; i < 3; i++) expect((await exchange()).equals(whole)).toBe(true);
  });

  it('keeps a pooled buffer out of the pool until node has sent the answer, then gives it back once', async () => {
    // Node's response stands in as its events alone: on loopback the kernel takes a whole answer at
    // once, so a real socket cannot hold one back long enough to show the order.
    const outgoing = Object.assign(new EventEmitter(), { destroyed: false, writableEnded: false });
    emptyPool();
    const converted = await longAnswerAsBytes(
      sdkAnswer(longText(3, ['token='])),
      outgoing as unknown as ServerResponse,
    );
    expect(converted.status).toBe(200);
    expect(pooledBuffers()).toBe(0);
    outgoing.emit('finish');
    expect(pooledBuffers()).toBe(1);
    outgoing.emit('close');
    expect(pooledBuffers()).toBe(1);
  });

  it('takes no pooled buffer for a response that has already ended', async () => {
    const outgoing = Object.assign(new EventEmitter(), { destroyed: true, writableEnded: false });
    const before = pooledBuffers();
    await longAnswerAsBytes(sdkAnswer(longText(5, ['token='])), outgoing as unknown as ServerResponse);
    expect(pooledBuffers()).toBe(before);
  });
});

/** Takes every pooled buffer out, so a buffer given back twice counts twice (a full pool keeps one). */
function emptyPool(): void {
  while (pooledBuffers() > 0) takeBuffer(1);
}
