/**
 * A provider that answers each request with the test's own script (`answer`), for attacks that
 * need an exact answer the fuller fakes do not give: usage fields, streams cut at a chosen event.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll } from 'vitest';
import { readBody } from '../fakes/read-body.js';
import { startTestGateway, type TestGateway } from '../helpers/harness.js';
import { llmPolicy, PRICES, withRealKey } from '../helpers/llm-harness.js';

export type Answer = (
  res: ServerResponse,
  body: Record<string, unknown>,
  path: string,
) => void | Promise<void>;

export interface ScriptedApi {
  url: string;
  received: Array<{ path: string; body: Record<string, unknown> }>;
  answer: Answer;
  close(): Promise<void>;
}

export async function startScriptedApi(): Promise<ScriptedApi> {
  const api: ScriptedApi = {
    url: '',
    received: [],
    answer: (res) => void res.writeHead(500).end(),
    close: async () => undefined,
  };
  const server: Server = createServer(async (req, res) => {
    const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
    api.received.push({ path: req.url ?? '', body });
    await api.answer(res, body, req.url ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  api.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  api.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return api;
}

/**
 * A scripted API and a gateway in front of it (`profiles` under `profiles:`, `llm` lines in `llm:`)
 * for a whole test file: read `api` and `gw` inside tests, once started.
 */
export function useScriptedGateway(
  profiles: string,
  llm = PRICES,
): {
  readonly api: ScriptedApi;
  readonly gw: TestGateway;
} {
  let api: ScriptedApi | undefined;
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    api = await startScriptedApi();
    gw = await startTestGateway(llmPolicy(api.url, profiles, llm), withRealKey);
  });
  afterAll(async () => {
    await gw?.close();
    await api?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (!value) throw new Error('the scripted gateway is used before beforeAll started it');
    return value;
  };
  return {
    get api() {
      return started(api);
    },
    get gw() {
      return started(gw);
    },
  };
}

/** A plain Chat Completions answer of `usage`. */
export const chatCompletion = (usage: { prompt_tokens: number; completion_tokens: number }) => ({
  id: 'c1',
  object: 'chat.completion',
  model: 'claude-test',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
});

/** A completed Responses answer: `calls` output items of `type` (`web_search_call`), then a message. */
export const responsesAnswer = (
  type: string,
  calls: number,
  usage: { input_tokens: number; output_tokens: number },
) => ({
  id: 'resp_1',
  object: 'response',
  status: 'completed',
  model: 'claude-test',
  output: [
    ...Array.from({ length: calls }, (_, i) => ({ type, id: `c${i}`, status: 'completed' })),
    { type: 'message', id: 'm', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] },
  ],
  usage,
});

/** A raw POST to the gateway at `url` holding only the run's token, as any of the three APIs reads it. */
export function postWithToken(
  url: string,
  path: string,
  token: string,
  body: Record<string, unknown>,
  beta?: string,
): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': token,
      authorization: `Bearer ${token}`,
      'anthropic-version': '2023-06-01',
      ...(beta ? { 'anthropic-beta': beta } : {}),
    },
    body: JSON.stringify(body),
  });
}
