/**
 * A reflecting upstream (a debugging proxy, a self-hosted gateway that echoes what it was sent)
 * answers with the injected key in a form the scrubber cannot read: compressed, in UTF-16 with
 * or without a label, or in the headers the proxy passes back. Each went out bare on 3593582.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/harness.js';
import {
  llmPolicy,
  messageAnswer,
  postMessages,
  REAL_KEY,
  settledLlmEvent,
  sseEvent,
  withRealKey,
} from '../helpers/llm-harness.js';

/** How the upstream answers, given the key it received: status, headers, body bytes. */
type Answer = (key: string, stream: boolean) => { headers: Record<string, string>; body: Buffer };

let answer: Answer = () => ({ headers: {}, body: Buffer.alloc(0) });
let upstream: Server;
let gw: TestGateway;

const message = (key: string) => JSON.stringify(messageAnswer(`the key you sent is ${key}`));

function events(key: string): string {
  return [
    sseEvent('message_start', {
      type: 'message_start',
      message: { ...messageAnswer('', { input_tokens: 5, output_tokens: 1 }), stop_reason: null },
    }),
    sseEvent('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    }),
    sseEvent('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: `the key you sent is ${key}` },
    }),
    sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sseEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 5 },
    }),
    sseEvent('message_stop', { type: 'message_stop' }),
  ].join('');
}

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: boolean };
      const { headers, body: bytes } = answer(String(req.headers['x-api-key']), body.stream === true);
      res.writeHead(200, headers).end(bytes);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startTestGateway(llmPolicy(url, '  agent:\n    llm: { models: [claude-test] }'), withRealKey);
});

afterAll(async () => {
  await gw?.close();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

/** What the agent receives for one request: status, headers and the body's bytes, read raw. */
async function ask(
  stream: boolean,
): Promise<{ status: number; headers: Headers; bytes: Buffer; runId: string }> {
  const { run, token } = await gw.gateway.runs.create('agent');
  const res = await postMessages(gw, token, { stream });
  return {
    status: res.status,
    headers: res.headers,
    bytes: Buffer.from(await res.arrayBuffer()),
    runId: run.id,
  };
}

/** Every form an agent could turn back into the key: as sent, and with NULs (UTF-16) taken out. */
function holdsKey(bytes: Buffer): boolean {
  const latin1 = bytes.toString('latin1');
  return latin1.includes(REAL_KEY) || latin1.replaceAll('\0', '').includes(REAL_KEY);
}

const utf16be = (text: string) => Buffer.from(text, 'utf16le').swap16();

const bodies: Record<string, (text: string) => { headers: Record<string, string>; body: Buffer }> = {
  'gzip-compressed': (t) => ({ headers: { 'content-encoding': 'gzip' }, body: gzipSync(t) }),
  'deflate-compressed': (t) => ({ headers: { 'content-encoding': 'deflate' }, body: deflateSync(t) }),
  'brotli-compressed': (t) => ({ headers: { 'content-encoding': 'br' }, body: brotliCompressSync(t) }),
  'compressed twice (gzip, gzip)': (t) => ({
    headers: { 'content-encoding': 'gzip, gzip' },
    body: gzipSync(gzipSync(t)),
  }),
  'labelled UTF-16LE': (t) => ({ headers: { charset: 'utf-16le' }, body: Buffer.from(t, 'utf16le') }),
  'labelled UTF-16BE': (t) => ({ headers: { charset: 'utf-16be' }, body: utf16be(t) }),
  'UTF-16LE with no label': (t) => ({ headers: {}, body: Buffer.from(t, 'utf16le') }),
  'UTF-16LE with a byte-order mark': (t) => ({
    headers: {},
    body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]),
  }),
};

function answering(
  stream: boolean,
  form: (text: string) => { headers: Record<string, string>; body: Buffer },
) {
  answer = (key) => {
    const { headers, body } = form(stream ? events(key) : message(key));
    const media = stream ? 'text/event-stream' : 'application/json';
    const { charset, ...rest } = headers;
    return { headers: { 'content-type': charset ? `${media}; charset=${charset}` : media, ...rest }, body };
  };
}

const settledEvent = (runId: string) => settledLlmEvent(gw, runId);

for (const stream of [false, true]) {
  describe(`an upstream ${stream ? 'streamed' : 'plain'} answer the scrubber cannot read as sent`, () => {
    for (const [name, form] of Object.entries(bodies)) {
      it(`never reaches the agent with the key in it: ${name}`, async () => {
        answering(stream, form);
        const got = await ask(stream);
        expect(holdsKey(got.bytes)).toBe(false);
        expect(got.headers.get('content-encoding')).toBeNull();
      });
    }
  });
}

describe('an answer refused as unreadable', () => {
  it('is a 502 that says why, recorded as upstream_unreadable and charged what was reserved', async () => {
    answering(false, bodies['gzip-compressed']!);
    const got = await ask(false);
    expect(got.status).toBe(502);
    expect(got.bytes.toString()).toContain('content-encoding');
    const event = await settledEvent(got.runId);
    expect(event?.code).toBe('upstream_unreadable');
    const usage = await gw.gateway.store.tokens.usage(got.runId);
    expect(usage.output).toBe(20);
  });

  it('is refused before a streamed answer starts when its headers already say so', async () => {
    answering(true, bodies['labelled UTF-16LE']!);
    const got = await ask(true);
    expect(got.status).toBe(502);
    expect((await settledEvent(got.runId))?.code).toBe('upstream_unreadable');
  });

  it('cuts a streamed answer at its first NUL byte, the agent told the stream failed', async () => {
    answering(true, bodies['UTF-16LE with no label']!);
    const got = await ask(true);
    expect(got.bytes.toString()).toContain('bulkhead: the LLM API stream failed.');
    expect((await settledEvent(got.runId))?.code).toBe('upstream_unreadable');
  });
});

describe('headers the proxy passes back from the upstream', () => {
  for (const name of ['request-id', 'retry-after', 'x-should-retry']) {
    it(`drops a ${name} that is not of its form (it quoted the key)`, async () => {
      answer = (key) => ({
        headers: { 'content-type': 'application/json', [name]: `${key}` },
        body: Buffer.from(message('hidden')),
      });
      const got = await ask(false);
      expect(got.headers.get(name)).toBeNull();
      expect(holdsKey(got.bytes)).toBe(false);
    });
  }

  it('reduces the content type to its media type (a parameter quoted the key)', async () => {
    answer = (key) => ({
      headers: { 'content-type': `application/json; note=${key}` },
      body: Buffer.from(message('hidden')),
    });
    const got = await ask(false);
    expect(got.headers.get('content-type')).toBe('application/json');
  });

  it('keeps the headers the SDKs read when they are of their form', async () => {
    answer = () => ({
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'request-id': 'req_011CXyz-ABC_123',
        'retry-after': '7',
        'x-should-retry': 'false',
      },
      body: Buffer.from(message('hidden')),
    });
    const got = await ask(false);
    expect(got.status).toBe(200);
    expect(got.headers.get('request-id')).toBe('req_011CXyz-ABC_123');
    expect(got.headers.get('retry-after')).toBe('7');
    expect(got.headers.get('x-should-retry')).toBe('false');
    expect(got.headers.get('content-type')).toBe('application/json');
  });
});
