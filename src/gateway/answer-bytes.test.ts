import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { LONG_ANSWER, longAnswerAsBytes } from './answer-bytes.js';

/** The agent-facing server, answering every request with `answer()` (plain, or as bytes). */
let server: ServerType;
let port = 0;
let answer: () => Response | Promise<Response> = () => new Response('');

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: () => answer(), port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Every byte the server sends for one request, its `Date` header taken out (it moves with the clock). */
function exchange(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve(Buffer.from(raw.replace(/\r\nDate: [^\r]*/i, ''), 'latin1'));
    });
    socket.write('POST /mcp HTTP/1.1\r\nHost: gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
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

  it('goes out byte for byte as the SDK string did (status line, headers, length, body) on many answers', async () => {
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
    }
  }, 60_000);
});
