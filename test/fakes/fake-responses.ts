/**
 * A local stand-in for the OpenAI Responses API (`POST /v1/responses`) that
 * follows its documented wire format: a JSON response object with `output`
 * items and `usage`, or an SSE stream of `response.created`,
 * `response.in_progress`, `response.output_item.added`, the text and
 * function-call argument deltas and their `.done` events,
 * `response.output_item.done` and `response.completed`, whose
 * `response.usage` carries `input_tokens` (with `input_tokens_details.
 * cached_tokens`) and `output_tokens` (with `output_tokens_details.
 * reasoning_tokens`). It checks the real key as a bearer and records every
 * request. Knobs: scripted output items per request (an agent's tool loop),
 * a cut before `response.completed` (usage never reported), an error event,
 * a stream that stops and hangs (for kills), and raw SSE bytes.
 *
 * It is served alone (`startFakeResponses`, for Codex) or behind the fake
 * Anthropic API's server (`fake.responses`), which routes `/v1/responses` here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.js';

export const RESPONSES_KEY = 'sk-ant-real-key-for-tests-0123456789';

export type OutputScript =
  | { type: 'message'; chunks: string[] }
  | { type: 'function_call'; name: string; chunks: string[]; call_id?: string; namespace?: string };

export interface ResponsesReceived {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface ResponsesFake {
  received: ResponsesReceived[];
  /** Delay between stream events, ms. */
  delayMs: number;
  /** Input tokens reported (of which `cachedTokens` are cached). */
  inputTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** The output items of the answer to a request; undefined: a greeting. */
  scriptFor: ((body: Record<string, unknown>) => OutputScript[] | undefined) | undefined;
  /** Drop the connection right before `response.completed`: the usage is never reported. */
  cutBeforeCompleted: boolean;
  /** After this many deltas, stop sending and keep the connection open (a kill ends it). */
  hangAfter: number | undefined;
  /** Stream these raw strings as the whole SSE answer, one write each. */
  rawStream: string[] | undefined;
  handle(body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface FakeResponses extends ResponsesFake {
  url: string;
  close(): Promise<void>;
}

const GREETING: OutputScript[] = [{ type: 'message', chunks: ['Hello', ' from', ' the', ' fake', ' API.'] }];

export function createResponsesFake(): ResponsesFake {
  const fake: ResponsesFake = {
    received: [],
    delayMs: 2,
    inputTokens: 25,
    cachedTokens: 10,
    reasoningTokens: 0,
    scriptFor: undefined,
    cutBeforeCompleted: false,
    hangAfter: undefined,
    rawStream: undefined,
    handle: (body, req, res) => answer(fake, body, req, res),
  };
  return fake;
}

export async function startFakeResponses(): Promise<FakeResponses> {
  const fake = createResponsesFake();
  const server: Server = createServer(async (req, res) => {
    const text = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/responses') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    await fake.handle((text ? JSON.parse(text) : {}) as Record<string, unknown>, req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

const item = (s: OutputScript, i: number, done: boolean): Record<string, unknown> =>
  s.type === 'message'
    ? {
        id: `msg_${i}`,
        type: 'message',
        role: 'assistant',
        status: done ? 'completed' : 'in_progress',
        content: done ? [{ type: 'output_text', text: s.chunks.join(''), annotations: [] }] : [],
      }
    : {
        id: `fc_${i}`,
        type: 'function_call',
        status: done ? 'completed' : 'in_progress',
        call_id: s.call_id ?? `call_${i}`,
        name: s.name,
        // A tool inside a `namespace` tool is called by its name and its namespace's.
        ...(s.namespace ? { namespace: s.namespace } : {}),
        arguments: done ? s.chunks.join('') : '',
      };

async function answer(
  fake: ResponsesFake,
  body: Record<string, unknown>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  fake.received.push({ headers: req.headers, body });
  if (req.headers.authorization !== `Bearer ${RESPONSES_KEY}`) {
    res.writeHead(401, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        error: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'bad key' },
      }),
    );
    return;
  }
  const script = fake.scriptFor?.(body) ?? GREETING;
  const max = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : 4096;
  const output = Math.min(max, script.reduce((n, s) => n + s.chunks.length, 0) + fake.reasoningTokens);
  const usage = {
    input_tokens: fake.inputTokens,
    input_tokens_details: { cached_tokens: fake.cachedTokens },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: fake.reasoningTokens },
    total_tokens: fake.inputTokens + output,
  };
  const id = `resp_${fake.received.length}`;
  const response = (status: string, done: boolean) => ({
    id,
    object: 'response',
    created_at: 1,
    status,
    model: body.model,
    output: done ? script.map((s, i) => item(s, i, true)) : [],
    usage: done ? usage : null,
    error: null,
    incomplete_details: null,
    store: body.store ?? true,
  });
  if (body.stream !== true) {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(response('completed', true)));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (fake.rawStream) {
    for (const piece of fake.rawStream) {
      res.write(piece);
      await new Promise((r) => setTimeout(r, fake.delayMs));
    }
    res.end();
    return;
  }
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  let sequence = 0;
  const send = async (data: Record<string, unknown>) => {
    if (closed) return;
    res.write(`event: ${data.type}\ndata: ${JSON.stringify({ ...data, sequence_number: sequence++ })}\n\n`);
    await new Promise((r) => setTimeout(r, fake.delayMs));
  };
  let deltas = 0;
  const hang = () => fake.hangAfter !== undefined && deltas >= fake.hangAfter;
  await send({ type: 'response.created', response: response('in_progress', false) });
  await send({ type: 'response.in_progress', response: response('in_progress', false) });
  for (const [i, s] of script.entries()) {
    await send({ type: 'response.output_item.added', output_index: i, item: item(s, i, false) });
    const itemId = s.type === 'message' ? `msg_${i}` : `fc_${i}`;
    if (s.type === 'message') {
      const part = { type: 'output_text', text: '', annotations: [] };
      await send({
        type: 'response.content_part.added',
        item_id: itemId,
        output_index: i,
        content_index: 0,
        part,
      });
      for (const chunk of s.chunks) {
        if (hang()) return;
        await send({
          type: 'response.output_text.delta',
          item_id: itemId,
          output_index: i,
          content_index: 0,
          delta: chunk,
          logprobs: [],
        });
        deltas++;
      }
      const text = s.chunks.join('');
      await send({
        type: 'response.output_text.done',
        item_id: itemId,
        output_index: i,
        content_index: 0,
        text,
      });
      await send({
        type: 'response.content_part.done',
        item_id: itemId,
        output_index: i,
        content_index: 0,
        part: { ...part, text },
      });
    } else {
      for (const chunk of s.chunks) {
        if (hang()) return;
        await send({
          type: 'response.function_call_arguments.delta',
          item_id: itemId,
          output_index: i,
          delta: chunk,
        });
        deltas++;
      }
      await send({
        type: 'response.function_call_arguments.done',
        item_id: itemId,
        output_index: i,
        arguments: s.chunks.join(''),
      });
    }
    await send({ type: 'response.output_item.done', output_index: i, item: item(s, i, true) });
  }
  if (fake.cutBeforeCompleted) {
    res.destroy();
    return;
  }
  await send({ type: 'response.completed', response: response('completed', true) });
  res.end();
}
