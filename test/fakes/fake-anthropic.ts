/**
 * A local stand-in for the Anthropic Messages API that follows its documented
 * wire format: JSON responses with `usage`, and SSE streams of message_start,
 * content_block_start/delta/stop, message_delta (cumulative usage) and
 * message_stop, with ping and error events. It records what it received, so
 * tests can check which key arrived and that a run token did not. Knobs:
 * slow streaming, a slow plain answer, an `overloaded_error` event mid-stream,
 * CRLF line endings, and the input and cache counts it reports. For attack
 * tests it can also play a hostile or reflecting upstream: a scripted answer
 * (content blocks cut into chosen deltas), raw SSE bytes, a debug echo of the
 * headers it received in every answer, and input counted the way a real
 * tokenizer counts dense scripts (one token per CJK character or emoji).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResponsesFake, type ResponsesFake } from './fake-responses.js';
import { readBody } from './read-body.js';

export interface Received {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  path: string;
}

export type ScriptBlock =
  | { type: 'text'; chunks: string[] }
  | { type: 'tool_use'; name: string; chunks: string[]; id?: string }
  | { type: 'thinking'; chunks: string[]; signature: string };

/**
 * Input tokens as a real tokenizer roughly counts them: one per CJK character
 * or emoji (anything past U+2E80), one per 4 other characters.
 */
export function denseTokenCount(body: Record<string, unknown>): number {
  const text = JSON.stringify({ s: body.system ?? '', m: body.messages ?? [], t: body.tools ?? [] });
  let wide = 0;
  let narrow = 0;
  for (const ch of text) {
    if ((ch.codePointAt(0) ?? 0) >= 0x2e80) wide++;
    else narrow++;
  }
  return wide + Math.ceil(narrow / 4);
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
  /** Answer with these content blocks (streamed delta by delta, chunk by chunk) instead of the greeting. */
  script: ScriptBlock[] | undefined;
  /** Per request (an agent's tool loop): the blocks to answer with, or undefined for the rest. */
  scriptFor: ((body: Record<string, unknown>) => ScriptBlock[] | undefined) | undefined;
  /** Stream these raw strings as the whole SSE answer, one write each. */
  rawStream: string[] | undefined;
  /** Echo the headers received in every answer (count_tokens, plain, message_start), as a debugging proxy might. */
  reflect: boolean;
  /** Report input tokens with `denseTokenCount` instead of `usage.input_tokens`. */
  countInput: boolean;
  /** The Responses API (`/v1/responses`) this server also answers (fake-responses.ts). */
  responses: ResponsesFake;
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
    script: undefined,
    scriptFor: undefined,
    rawStream: undefined,
    reflect: false,
    countInput: false,
    responses: createResponsesFake(),
    usage: { input_tokens: 25, cache_read_input_tokens: 10, cache_creation_input_tokens: 0 },
    close: async () => undefined,
  };
  const server: Server = createServer(async (req, res) => {
    const text = await readBody(req);
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    received.push({ headers: req.headers, body, path: req.url ?? '' });
    if (req.url === '/v1/responses') return fake.responses.handle(body, req, res);
    if (req.url === '/v1/chat/completions') return answerOpenAi(fake, body, req, res);
    if (req.headers['x-api-key'] !== 'sk-ant-real-key-for-tests-0123456789') {
      res.writeHead(401, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          type: 'error',
          error: { type: 'authentication_error', message: 'invalid x-api-key' },
        }),
      );
      return;
    }
    const echo = fake.reflect ? { debug: { received_headers: req.headers } } : {};
    const inputTokens = fake.countInput ? denseTokenCount(body) : fake.usage.input_tokens;
    if (req.url === '/v1/messages/count_tokens') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ input_tokens: fake.countInput ? inputTokens : 42, ...echo }));
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
    const usage = { ...fake.usage, input_tokens: inputTokens };
    const scripted = fake.scriptFor?.(body) ?? fake.script;
    if (scripted) return answerScript(fake, scripted, body, res, usage, echo);
    if (fake.rawStream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const piece of fake.rawStream) {
        res.write(piece);
        await new Promise((r) => setTimeout(r, fake.delayMs));
      }
      res.end();
      return;
    }
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
          usage: { ...usage, output_tokens: tokensOf(words.length) },
          ...echo,
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
        usage: { ...usage, output_tokens: 1 },
        ...echo,
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

/** Answers with scripted content blocks: plain as one message, streamed one chunk per delta. */
async function answerScript(
  fake: FakeAnthropic,
  script: ScriptBlock[],
  body: Record<string, unknown>,
  res: ServerResponse,
  usage: FakeAnthropic['usage'],
  echo: Record<string, unknown>,
): Promise<void> {
  const id = `msg_${fake.received.length}`;
  const output = script.reduce((n, b) => n + b.chunks.length, 0);
  // As the API: a turn that asks for tools stops with tool_use, so an agent runs them.
  const stopReason = script.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  const whole = (b: ScriptBlock) => {
    const text = b.chunks.join('');
    if (b.type === 'text') return { type: 'text', text };
    if (b.type === 'thinking') return { type: 'thinking', thinking: text, signature: b.signature };
    return { type: 'tool_use', id: b.id ?? 'toolu_1', name: b.name, input: JSON.parse(text) as unknown };
  };
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: script.map(whole),
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { ...usage, output_tokens: output },
        ...echo,
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = async (data: { type: string }) => {
    res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
    await new Promise((r) => setTimeout(r, fake.delayMs));
  };
  await send({
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1 },
      ...echo,
    },
  } as { type: string });
  for (const [index, block] of script.entries()) {
    const start =
      block.type === 'text'
        ? { type: 'text', text: '' }
        : block.type === 'thinking'
          ? { type: 'thinking', thinking: '' }
          : { type: 'tool_use', id: block.id ?? 'toolu_1', name: block.name, input: {} };
    await send({ type: 'content_block_start', index, content_block: start } as { type: string });
    for (const chunk of block.chunks) {
      const delta =
        block.type === 'text'
          ? { type: 'text_delta', text: chunk }
          : block.type === 'thinking'
            ? { type: 'thinking_delta', thinking: chunk }
            : { type: 'input_json_delta', partial_json: chunk };
      await send({ type: 'content_block_delta', index, delta } as { type: string });
    }
    if (block.type === 'thinking')
      await send({
        type: 'content_block_delta',
        index,
        delta: { type: 'signature_delta', signature: block.signature },
      } as { type: string });
    await send({ type: 'content_block_stop', index } as { type: string });
  }
  await send({
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: output },
  } as { type: string });
  await send({ type: 'message_stop' });
  res.end();
}

/**
 * The OpenAI-compatible endpoint the Anthropic API also serves
 * (`/v1/chat/completions`, bearer key): the greeting or the scripted blocks
 * (text as `content`, tool_use as one tool call's `arguments`), plain or
 * streamed chunk by chunk, with usage in the last chunk when asked.
 */
async function answerOpenAi(
  fake: FakeAnthropic,
  body: Record<string, unknown>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.headers.authorization !== 'Bearer sk-ant-real-key-for-tests-0123456789') {
    res
      .writeHead(401, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: { type: 'invalid_request_error', message: 'bad key' } }));
    return;
  }
  const script: ScriptBlock[] = fake.script ?? [{ type: 'text', chunks: WORDS }];
  const max = Number(body.max_completion_tokens ?? body.max_tokens ?? 4096);
  const text = script.filter((b) => b.type === 'text').flatMap((b) => b.chunks);
  const calls = script.filter((b) => b.type === 'tool_use');
  const prompt = fake.countInput ? denseTokenCount(body) : fake.usage.input_tokens;
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: Math.min(max, text.length + calls.length),
    total_tokens: 0,
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const base = { id: `chatcmpl_${fake.received.length}`, created: 1, model: body.model };
  const echo = fake.reflect ? { debug: { received_headers: req.headers } } : {};
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: text.join(''),
              ...(calls.length
                ? {
                    tool_calls: calls.map((c, i) => ({
                      id: `call_${i}`,
                      type: 'function',
                      function: { name: (c as { name: string }).name, arguments: c.chunks.join('') },
                    })),
                  }
                : {}),
            },
            finish_reason: 'stop',
          },
        ],
        usage,
        ...echo,
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = async (data: unknown) => {
    res.write(`data: ${JSON.stringify(data)}\n\n`);
    await new Promise((r) => setTimeout(r, fake.delayMs));
  };
  const chunk = (delta: unknown, finish: string | null = null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...echo,
  });
  await send(chunk({ role: 'assistant', content: '' }));
  for (const piece of text) await send(chunk({ content: piece }));
  for (const [i, call] of calls.entries()) {
    await send(
      chunk({
        tool_calls: [
          {
            index: i,
            id: `call_${i}`,
            type: 'function',
            function: { name: (call as { name: string }).name, arguments: '' },
          },
        ],
      }),
    );
    for (const piece of call.chunks)
      await send(chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
  }
  await send(chunk({}, calls.length ? 'tool_calls' : 'stop'));
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage) await send({ ...base, object: 'chat.completion.chunk', choices: [], usage });
  res.end('data: [DONE]\n\n');
}
