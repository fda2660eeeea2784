/**
 * A local stand-in for the Anthropic Messages API that follows its documented
 * wire format: JSON responses with `usage`, and SSE streams of message_start,
 * content_block_start/delta/stop, message_delta (cumulative usage) and
 * message_stop, with ping and error events. It records what it received, so
 * tests can check which key arrived and that a run token did not. Knobs:
 * slow streaming, a slow plain answer, an `overloaded_error` event mid-stream,
 * CRLF line endings, and the input and cache counts it reports.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  path: string;
}

export interface FakeAnthropic {
  url: string;
  received: Received[];
  /** Delay between stream events, ms. */
  delayMs: number;
  /** Delay before a plain (non-streaming) answer, ms. */
  plainDelayMs: number;
  /** Send an `overloaded_error` event after this many text deltas; never when undefined. */
  overloadAfter: number | undefined;
  /** Drop the connection after this many text deltas, mid-stream; never when undefined. */
  dropAfter: number | undefined;
  /** Answer every message request with this HTTP status and an error that quotes the key received. */
  failWith: number | undefined;
  /** End SSE lines with CRLF instead of LF. */
  crlf: boolean;
  /** Counts reported in `usage` (input side); output is two tokens per word. */
  usage: { input_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number };
  close(): Promise<void>;
}

const WORDS = ['Hello', ' from', ' the', ' fake', ' API', '.'];

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const received: Received[] = [];
  const fake: FakeAnthropic = {
    url: '',
    received,
    delayMs: 5,
    plainDelayMs: 0,
    overloadAfter: undefined,
    dropAfter: undefined,
    failWith: undefined,
    crlf: false,
    usage: { input_tokens: 25, cache_read_input_tokens: 10, cache_creation_input_tokens: 0 },
    close: async () => undefined,
  };
  const server: Server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk.toString();
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    received.push({ headers: req.headers, body, path: req.url ?? '' });
    if (req.headers['x-api-key'] !== 'sk-ant-real-key-for-tests-0123456789') {
      res.writeHead(401, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          type: 'error',
          error: { type: 'authentication_error', message: 'invalid x-api-key' },
        }),
      );
      return;
    }
    if (req.url === '/v1/messages/count_tokens') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ input_tokens: 42 }));
      return;
    }
    if (fake.failWith) {
      res.writeHead(fake.failWith, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          type: 'error',
          error: { type: 'invalid_request_error', message: `rejected for key ${req.headers['x-api-key']}` },
        }),
      );
      return;
    }
    const id = `msg_${received.length}`;
    const model = body.model;
    const maxTokens = Number(body.max_tokens);
    // Two tokens a word, and never more output tokens than max_tokens, as the real API.
    const words = WORDS.slice(0, Math.max(1, Math.min(WORDS.length, Math.floor(maxTokens / 2))));
    const tokensOf = (n: number) => Math.min(maxTokens, n * 2);
    if (body.stream !== true) {
      if (fake.plainDelayMs) await new Promise((r) => setTimeout(r, fake.plainDelayMs));
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${received.length}` }).end(
        JSON.stringify({
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text: words.join('') }],
          stop_reason: words.length < WORDS.length ? 'max_tokens' : 'end_turn',
          stop_sequence: null,
          usage: { ...fake.usage, output_tokens: tokensOf(words.length) },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const eol = fake.crlf ? '\r\n' : '\n';
    const send = async (event: string, data: unknown) => {
      res.write(`event: ${event}${eol}data: ${JSON.stringify(data)}${eol}${eol}`);
      await new Promise((r) => setTimeout(r, fake.delayMs));
    };
    let closed = false;
    req.on('close', () => {
      closed = true;
    });
    await send('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...fake.usage, output_tokens: 1 },
      },
    });
    await send('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    await send('ping', { type: 'ping' });
    let out = 0;
    for (const [i, word] of words.entries()) {
      if (closed) return;
      if (fake.dropAfter === i) {
        res.destroy();
        return;
      }
      if (fake.overloadAfter === i) {
        await send('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
        res.end();
        return;
      }
      await send('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: word },
      });
      out = tokensOf(i + 1);
      // Cumulative, as the API documents: each message_delta carries the total so far.
      await send('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: null, stop_sequence: null },
        usage: { output_tokens: out },
      });
    }
    await send('content_block_stop', { type: 'content_block_stop', index: 0 });
    await send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: out },
    });
    await send('message_stop', { type: 'message_stop' });
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((r) => server.close(() => r()));
  return fake;
}
