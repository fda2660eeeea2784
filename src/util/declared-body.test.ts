/**
 * A body with a declared length is read straight from node's request
 * (`readDeclared`, declared-body.ts) instead of through the web Request. It
 * must answer exactly what the web path (`readRequestText`) answers for the
 * same bytes: the same text, the same size, the same refusal (too large, not
 * UTF-8), on many bodies; and leave to the web path what it does not read.
 */
import { type ClientRequest, createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Seeded, seeded } from '../../test/helpers/seeded.js';
import { readDeclared } from './declared-body.js';
import { type RequestText, readRequestText } from './request-text.js';

const MAX = 4096;

let server: Server;
let url: string;
/** What the server does with each request it receives. */
let handle: (req: IncomingMessage) => Promise<unknown> = async () => undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    void handle(req).then((result) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result ?? null));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Resolves with the server's JSON answer to `req`. */
function answerOf(
  req: ClientRequest,
  resolve: (answer: unknown) => void,
  reject: (error: Error) => void,
): void {
  req.on('response', (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      text += d;
    });
    res.on('end', () => resolve(JSON.parse(text)));
  });
  req.on('error', reject);
}

/** Sends `bytes` with a declared length (or chunked); resolves with the server's JSON answer. */
function send(bytes: Uint8Array, chunked = false): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(bytes.byteLength) },
    });
    answerOf(req, resolve, reject);
    req.end(bytes);
  });
}

/** Sends `bytes` with a declared length in `pieces` writes a few milliseconds apart. */
function sendInPieces(bytes: Uint8Array, pieces: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-length': String(bytes.byteLength) } });
    answerOf(req, resolve, reject);
    const size = Math.ceil(bytes.byteLength / pieces);
    let at = 0;
    const next = () => {
      const piece = bytes.subarray(at, at + size);
      at += size;
      if (at >= bytes.byteLength) req.end(piece);
      else {
        req.write(piece);
        setTimeout(next, 2);
      }
    };
    next();
  });
}

/** A short fingerprint of a long text, so answers stay small. */
function checksum(text: string): string {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return `${text.length}:${h}`;
}

/** What the web path answers for the same bytes, declared as node declared them. */
function reference(bytes: Uint8Array): Promise<RequestText> {
  return readRequestText(
    new Request('http://x/', {
      method: 'POST',
      body: new Uint8Array(bytes),
      headers: { 'content-length': String(bytes.byteLength) },
    }),
    MAX,
  );
}

const enc = new TextEncoder();
const PIECES: Uint8Array[] = [
  enc.encode('{"model":"claude-test","messages":[{"role":"user","content":"'),
  enc.encode('hello '),
  enc.encode('żółw 🐢 中文 '),
  enc.encode('"}]}'),
  new Uint8Array([0xef, 0xbb, 0xbf]), // BOM
  new Uint8Array([0xc0, 0xaf]), // overlong '/'
  new Uint8Array([0xed, 0xa0, 0x80]), // lone surrogate
  new Uint8Array([0xf0, 0x9f, 0x90]), // a cut 4-byte sequence
  new Uint8Array([0xff]),
  new Uint8Array([0x00]),
];

function body(random: Seeded): Uint8Array {
  const parts: number[] = [];
  const n = random.int(12);
  for (let i = 0; i < n; i++) {
    const piece = random.pick(PIECES);
    const times = random.float() < 0.1 ? 1 + random.int(400) : 1;
    for (let t = 0; t < times; t++) parts.push(...piece);
  }
  return new Uint8Array(parts);
}

describe('LLM body: reading a declared-length body from node directly', () => {
  it('answers what the web path answers, on 300 bodies valid and not, small and over the limit', async () => {
    handle = async (req) => readDeclared(req, MAX);
    const random = seeded(15);
    const bodies = [
      new Uint8Array(0),
      new Uint8Array(MAX).fill(0x61),
      new Uint8Array(MAX + 1).fill(0x61),
      ...Array.from({ length: 300 }, () => body(random)),
    ];
    let refused = 0;
    for (const bytes of bodies) {
      const [direct, web] = await Promise.all([send(bytes), reference(bytes)]);
      expect(direct, `body ${Buffer.from(bytes).toString('hex').slice(0, 80)}`).toEqual(web);
      if (!web.ok) refused++;
    }
    // The inputs reach every answer: both refusals and plain reads.
    expect(refused).toBeGreaterThan(20);
    expect(refused).toBeLessThan(bodies.length - 20);
  });

  it('answers what the web path answers when the whole body was buffered before the read, on 300 bodies', async () => {
    let buffered = 0;
    handle = async (req) => {
      // As when the run is read first: the parser has taken in the whole body by then.
      const declared = Number(req.headers['content-length']);
      for (let i = 0; i < 100 && req.readableLength < declared; i++)
        await new Promise((r) => setImmediate(r));
      if (req.readableLength === declared) buffered++;
      const result = await readDeclared(req, MAX);
      // Over the limit nothing is read (the server drains it); else the stream still ends, as
      // after the event-by-event read.
      if (result?.ok === false && result.problem === 'too_large') req.resume();
      if (!req.readableEnded) await new Promise((r) => req.once('end', r));
      return result;
    };
    const random = seeded(16);
    const bodies = [
      new Uint8Array(0),
      new Uint8Array(MAX).fill(0x61),
      ...Array.from({ length: 300 }, () => body(random)),
    ];
    for (const bytes of bodies) {
      const [direct, web] = await Promise.all([send(bytes), reference(bytes)]);
      expect(direct, `body ${Buffer.from(bytes).toString('hex').slice(0, 80)}`).toEqual(web);
    }
    // Taken whole at once, not read event by event.
    expect(buffered).toBe(bodies.length);
  });

  it('gives each of many bodies arriving at once in pieces its own text', async () => {
    handle = async (req) => {
      const result = await readDeclared(req, 4 * 1024 * 1024);
      return result?.ok ? { ok: true, sum: checksum(result.text), bytes: result.bytes } : result;
    };
    // Bodies of different sizes (the shared scratch grows and is reused), each written in
    // several pieces with pauses between, all sending at once so their reads interleave.
    const bodies = Array.from({ length: 12 }, (_, i) =>
      enc.encode(`{"n":${i},"t":"${`${'żółw '.repeat(1 + i * 3000)}${i}`}"}`),
    );
    const answers = await Promise.all(bodies.map((bytes, i) => sendInPieces(bytes, 3 + (i % 4))));
    answers.forEach((answer, i) => {
      const text = new TextDecoder().decode(bodies[i]);
      expect(answer, `body ${i}`).toEqual({ ok: true, sum: checksum(text), bytes: bodies[i]?.byteLength });
    });
  });

  it('refuses a declared length over the limit before reading anything', async () => {
    let didRead = true;
    handle = async (req) => {
      const result = await readDeclared(req, MAX);
      didRead = req.readableDidRead;
      req.resume();
      return result;
    };
    expect(await send(new Uint8Array(MAX + 1).fill(0x61))).toEqual({ ok: false, problem: 'too_large' });
    expect(didRead).toBe(false);
  });

  it('leaves a chunked body to the web path', async () => {
    handle = async (req) => {
      const direct = readDeclared(req, MAX);
      req.resume();
      return { direct: direct === undefined };
    };
    expect(await send(enc.encode('{"a":1}'), true)).toEqual({ direct: true });
  });

  it('leaves a body someone already began to read to the web path', async () => {
    handle = async (req) => {
      req.read();
      req.resume();
      await new Promise((r) => req.once('end', r));
      return { direct: readDeclared(req, MAX) === undefined };
    };
    expect(await send(enc.encode('{"a":1}'))).toEqual({ direct: true });
  });

  it('answers unreadable when the agent goes away before the declared length arrived', async () => {
    const answered = new Promise<RequestText | undefined>((resolve) => {
      handle = async (req) => {
        const result = await readDeclared(req, MAX);
        resolve(result);
        return result;
      };
    });
    const req = request(url, { method: 'POST', headers: { 'content-length': '1000' } });
    req.on('error', () => undefined);
    req.write('{"model":');
    setTimeout(() => req.destroy(), 50);
    expect(await answered).toEqual({ ok: false, problem: 'unreadable' });
  });
});
