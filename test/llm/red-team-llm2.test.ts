/**
 * Attacks a steered agent makes on the LLM proxy, against a raw provider this file scripts byte
 * for byte: what it asks for, what reaches the provider, what the agent reads back, what is
 * charged. Each case names the class it closes or confirms.
 */
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateInputTokens } from '../../src/llm/usage.js';
import { startTestGateway, type TestGateway } from '../helpers/harness.js';
import { llmPolicy, PRICES, REAL_KEY, withRealKey } from '../helpers/llm-harness.js';
import { type Handler, type RawProvider, type Seen, startRawProvider } from '../helpers/raw-provider.js';

let seen: Seen[] = [];
let handler: Handler = (_s, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({ id: 'x', type: 'message', content: [], usage: { input_tokens: 1, output_tokens: 1 } }),
  );
};
let provider: RawProvider;
let gw: TestGateway;

const PROFILES = `
  agent:
    budgets: { tokens: { output: 100 } }
  cached:
    budgets: { tokens: { input: 1000 } }
  connector:
    llm: { mcp_servers: ['https://mcp.example.test/sse'] }
    budgets: { tokens: { input: 200 } }
`;

beforeAll(async () => {
  provider = await startRawProvider((s, res) => handler(s, res));
  seen = provider.seen;
  gw = await startTestGateway(llmPolicy(provider.url, PROFILES, PRICES), withRealKey);
});

afterAll(async () => {
  await gw?.close();
  await provider?.close();
});

/** Raw bytes to the gateway; resolves with everything it answered before closing (or 2 s). */
function raw(bytes: string | Buffer): Promise<string> {
  const url = new URL(gw.gateway.url);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(got);
    }, 2000);
    socket.on('data', (d) => {
      got += d.toString();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

const anthropicBody = JSON.stringify({
  model: 'claude-test',
  max_tokens: 5,
  messages: [{ role: 'user', content: 'hi' }],
});

describe('red team: where a request goes', () => {
  it('sends odd request targets nowhere but the fixed API paths, with the provider host', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    const targets = [
      '//evil.test/v1/messages',
      '/v1/../admin',
      '/v1/%2e%2e/messages',
      '/v1/messages%2f..%2fadmin',
      '/v1\\messages',
      'http://evil.test/v1/messages',
      '/v1/messages/batches',
      '/v1/files',
      '/v1/models/claude-test',
    ];
    for (const target of targets) {
      const before = seen.length;
      const answer = await raw(
        `POST ${target} HTTP/1.1\r\nHost: evil.test\r\nX-Forwarded-Host: evil.test\r\nx-api-key: ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(anthropicBody)}\r\nConnection: close\r\n\r\n${anthropicBody}`,
      );
      expect(answer, target).toMatch(/^HTTP\/1\.1 \d{3}/);
      for (const s of seen.slice(before)) {
        expect([
          '/v1/messages',
          '/v1/messages/count_tokens',
          '/v1/chat/completions',
          '/v1/responses',
        ]).toContain(s.url);
        expect(s.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(s.headers['x-forwarded-host']).toBeUndefined();
      }
    }
  });

  it('refuses Content-Length with Transfer-Encoding, and two lengths', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    const before = seen.length;
    const both = await raw(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${token}\r\ncontent-type: application/json\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n${Buffer.byteLength(anthropicBody).toString(16)}\r\n${anthropicBody}\r\n0\r\n\r\n`,
    );
    const two = await raw(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${token}\r\ncontent-type: application/json\r\ncontent-length: 4\r\ncontent-length: ${Buffer.byteLength(anthropicBody)}\r\n\r\n${anthropicBody}`,
    );
    expect(both).toMatch(/^HTTP\/1\.1 400/);
    expect(two).toMatch(/^HTTP\/1\.1 400/);
    expect(seen.length).toBe(before);
  });

  it('refuses a gzip-encoded body rather than forwarding bytes it did not check', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    const before = seen.length;
    const res = await fetch(`${gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(anthropicBody),
    });
    expect(res.status).toBe(400);
    expect(seen.length).toBe(before);
  });
});

describe('red team: the provider key', () => {
  it('never reaches the agent from an upstream error body or its headers', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = (s, res) => {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="${s.headers['x-api-key']}"`,
        location: `http://x/?key=${s.headers['x-api-key']}`,
        'x-echo': String(s.headers['x-api-key']),
      });
      const key = String(s.headers['x-api-key']);
      const escaped = [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
      res.end(
        `{"type":"error","error":{"type":"authentication_error","message":"bad key ${escaped} ${key}"}}`,
      );
    };
    const res = await fetch(`${gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: anthropicBody,
    });
    const text = await res.text();
    expect(text).not.toContain(REAL_KEY);
    expect(JSON.stringify(JSON.parse(text))).not.toContain(REAL_KEY);
    res.headers.forEach((value) => {
      expect(value).not.toContain(REAL_KEY);
    });
  });
});

describe('red team: budgets', () => {
  it('does not let n > 1 multiply the output the reservation held', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    handler = (s, res) => {
      const body = JSON.parse(s.body) as { n?: number; max_completion_tokens?: number; max_tokens?: number };
      const per = body.max_completion_tokens ?? body.max_tokens ?? 16;
      const n = body.n ?? 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'c',
          object: 'chat.completion',
          choices: Array.from({ length: n }, (_, index) => ({
            index,
            message: { role: 'assistant', content: 'x' },
            finish_reason: 'length',
          })),
          usage: { prompt_tokens: 1, completion_tokens: per * n, total_tokens: per * n + 1 },
        }),
      );
    };
    const ask = (n: unknown) =>
      fetch(`${gw.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-test',
          max_tokens: 100,
          n,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
    const before = seen.length;
    // Before: n = 20 was reserved as 100 output tokens and charged 2,000 against a cap of 100.
    // A count the API would not read as the budget does is refused, unsent.
    for (const n of ['20', 1.5, 0, -1]) {
      const res = await ask(n);
      expect(res.status, String(n)).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { type: 'invalid_request_error', message: expect.stringContaining('n must be an integer') },
      });
    }
    expect(seen.length).toBe(before);
    // Twenty choices share what the cap has left: n × max_tokens fits it.
    const many = await ask(20);
    expect(many.status).toBe(200);
    await many.text();
    const sent = JSON.parse(seen[seen.length - 1]!.body) as { n?: number; max_completion_tokens?: number };
    expect((sent.n ?? 1) * (sent.max_completion_tokens ?? 0)).toBeLessThanOrEqual(100);
    const usage = await gw.gateway.store.tokens.usage(run.id);
    expect(usage.output).toBeLessThanOrEqual(100);
  });
});

/** Waits until the run's usage shows `requests` settled requests. */
async function settled(runId: string, requests: number) {
  for (let i = 0; i < 200; i++) {
    const usage = await gw.gateway.store.tokens.usage(runId);
    if (usage.requests >= requests) return usage;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('never settled');
}

describe('red team: streams that never report usage', () => {
  const chat = (max: number) =>
    JSON.stringify({
      model: 'claude-test',
      max_completion_tokens: max,
      stream: true,
      messages: [{ role: 'user', content: 'think hard' }],
    });

  it('charges a Chat Completions stream the agent leaves while the model reasons (nothing visible) at its max_tokens', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    let upstreamGone: () => void = () => undefined;
    const gone = new Promise<void>((r) => {
      upstreamGone = r;
    });
    // A reasoning model: a role chunk, then a long silence while it thinks (billed, never streamed).
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'claude-test', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`,
      );
      res.on('close', () => upstreamGone());
    };
    const agent = new AbortController();
    const res = await fetch(`${gw.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chat(60),
      signal: agent.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    await reader?.read();
    agent.abort();
    await gone;
    const usage = await settled(run.id, 1);
    // Before: charged 0 output tokens, so leaving before the answer showed made reasoning free.
    expect(usage.output).toBe(60);
  });

  it('charges a Chat Completions stream that ends with [DONE] but no usage chunk as a cut one', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'claude-test', choices: [{ index: 0, delta: { role: 'assistant', content: 'abcdefghi' }, finish_reason: 'stop' }] })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    };
    const res = await fetch(`${gw.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: chat(40),
    });
    await res.text();
    const usage = await settled(run.id, 1);
    // Before: [DONE] alone counted as final usage: 0 in, 0 out.
    expect(usage.output).toBe(40);
    expect(usage.input).toBeGreaterThan(0);
  });
});

describe('red team: the key in a stream', () => {
  const sse = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const escaped = [...REAL_KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  const half = Math.floor(REAL_KEY.length / 2);

  it('never passes the key split across deltas, \\u-escaped, in tool input, comments, ids or unknown events', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const parts = [
        `: ${REAL_KEY}\n\n`,
        sse('message_start', {
          message: {
            id: 'm',
            type: 'message',
            role: 'assistant',
            model: 'claude-test',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 1, output_tokens: 1 },
          },
        }),
        `id: ${REAL_KEY}\nevent: ping\ndata: {"type":"ping","k":"${REAL_KEY}"}\n\n`,
        sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        sse('content_block_delta', {
          index: 0,
          delta: { type: 'text_delta', text: `a ${REAL_KEY.slice(0, half)}` },
        }),
        sse('content_block_delta', {
          index: 0,
          delta: { type: 'text_delta', text: `${REAL_KEY.slice(half)} b` },
        }),
        `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" ${escaped} "}}\n\n`,
        sse('content_block_stop', { index: 0 }),
        sse('content_block_start', {
          index: 1,
          content_block: { type: 'tool_use', id: 't', name: 'x', input: { k: REAL_KEY } },
        }),
        sse('content_block_delta', {
          index: 1,
          delta: { type: 'input_json_delta', partial_json: `{"k":"${REAL_KEY.slice(0, 5)}` },
        }),
        sse('content_block_delta', {
          index: 1,
          delta: { type: 'input_json_delta', partial_json: `${REAL_KEY.slice(5)}"}` },
        }),
        sse('content_block_stop', { index: 1 }),
        `event: ${REAL_KEY}\ndata: {"type":"${REAL_KEY}","x":"${REAL_KEY}"}\n\n`,
        sse('message_delta', {
          delta: { stop_reason: 'end_turn', stop_sequence: null, k: REAL_KEY },
          usage: { output_tokens: 3 },
        }),
        sse('message_stop', {}),
      ];
      let i = 0;
      const next = () => {
        if (i === parts.length) return void res.end();
        res.write(parts[i++]);
        setTimeout(next, 2);
      };
      next();
    };
    const res = await fetch(`${gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-test',
        max_tokens: 5,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    const text = await res.text();
    const decoded = text.replace(/\\u([0-9a-f]{4})/gi, (_m, h: string) =>
      String.fromCharCode(Number.parseInt(h, 16)),
    );
    // The stream's text and tool input, joined as an SDK would.
    let joined = '';
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: ')) continue;
      const data = JSON.parse(line.slice(6)) as { delta?: { text?: string; partial_json?: string } };
      joined += data.delta?.text ?? data.delta?.partial_json ?? '';
    }
    expect(text).toContain('content_block_stop');
    expect(decoded).not.toContain(REAL_KEY);
    expect(joined).not.toContain(REAL_KEY);
    expect(
      joined.replace(/\\u([0-9a-f]{4})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    ).not.toContain(REAL_KEY);
  });
});

describe('red team: a plain answer that reports no usage', () => {
  it('charges a 200 answer without usage at what was reserved, not at zero', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'm',
          type: 'message',
          role: 'assistant',
          content: [{ type: 'text', text: 'hi' }],
        }),
      );
    };
    const res = await fetch(`${gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-test',
        max_tokens: 30,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const usage = await settled(run.id, 1);
    // Before: 0 in, 0 out.
    expect(usage.output).toBe(30);
    expect(usage.input).toBeGreaterThan(0);
  });
});

describe('red team: state stored in the provider account', () => {
  const ok = (_s: Seen, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'r',
        usage: { input_tokens: 1, output_tokens: 1, prompt_tokens: 1, completion_tokens: 1 },
      }),
    );
  };

  it('refuses a Chat Completions file part by file_id (a file stored in the account)', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = ok;
    const before = seen.length;
    const res = await fetch(`${gw.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-test',
        max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-someone-elses' } }] }],
      }),
    });
    // Before: forwarded, so the run read whatever file the account's key can reach.
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { message: expect.stringContaining('messages[0].content[0].file') },
    });
    expect(seen.length).toBe(before);
  });

  it('refuses a Responses input item_reference (an item stored in the account)', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = ok;
    const before = seen.length;
    const res = await fetch(`${gw.gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-test',
        max_output_tokens: 5,
        input: [{ type: 'item_reference', id: 'msg_from_another_run' }],
      }),
    });
    // Before: forwarded; previous_response_id is refused, but the same stored state came in by item.
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { message: expect.stringContaining('item_reference') } });
    expect(seen.length).toBe(before);
  });
});

describe('red team: a dearer service tier than the prices count', () => {
  it('refuses service_tier priority on both OpenAI doors, passes auto and flex', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'r',
          usage: { input_tokens: 1, output_tokens: 1, prompt_tokens: 1, completion_tokens: 1 },
        }),
      );
    };
    const post = (path: string, body: Record<string, unknown>) =>
      fetch(`${gw.gateway.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const chat = { model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
    const responses = { model: 'claude-test', max_output_tokens: 5, input: 'hi' };
    const before = seen.length;
    // Before: forwarded and charged at the listed (standard) price, about half what it cost.
    for (const tier of ['priority', 'scale']) {
      const a = await post('/v1/chat/completions', { ...chat, service_tier: tier });
      const b = await post('/v1/responses', { ...responses, service_tier: tier });
      expect([a.status, b.status], tier).toEqual([400, 400]);
      expect(await a.json()).toMatchObject({ error: { message: expect.stringContaining('service_tier') } });
      await b.text();
    }
    expect(seen.length).toBe(before);
    for (const tier of ['auto', 'flex']) {
      const a = await post('/v1/chat/completions', { ...chat, service_tier: tier });
      expect(a.status, tier).toBe(200);
      await a.text();
    }
  });
});

describe('red team: budget checks the checker and the provider read alike', () => {
  const echoUsage = (s: Seen, res: ServerResponse) => {
    const body = JSON.parse(s.body) as { max_tokens?: number; max_completion_tokens?: number };
    const out = body.max_completion_tokens ?? body.max_tokens ?? 0;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'm',
        usage: { input_tokens: 1, output_tokens: out, prompt_tokens: 1, completion_tokens: out },
      }),
    );
  };

  it('sends the max_tokens it checked, whichever duplicate a parser would take, clamped to what is left', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = echoUsage;
    const before = seen.length;
    for (const body of [
      '{"model":"claude-test","max_tokens":1,"max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}',
      '{"model":"claude-test","max_tokens":100000,"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}',
      '{"model":"claude-test","max_tokens":9007199254740993,"messages":[{"role":"user","content":"hi"}]}',
    ]) {
      const res = await fetch(`${gw.gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body,
      });
      await res.text();
    }
    for (const s of seen.slice(before)) {
      expect(s.body.match(/"max_tokens"/g)?.length).toBe(1);
      expect((JSON.parse(s.body) as { max_tokens: number }).max_tokens).toBeLessThanOrEqual(100);
    }
    const fresh = await gw.gateway.runs.create('agent');
    const missing = await fetch(`${gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': fresh.token, 'content-type': 'application/json' },
      body: '{"model":"claude-test","messages":[{"role":"user","content":"hi"}]}',
    });
    expect(missing.status).toBe(400);
  });

  it('keeps 30 parallel requests, each asking for the whole cap, within the cap', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    handler = (s, res) => setTimeout(() => echoUsage(s, res), 30);
    await Promise.all(
      Array.from({ length: 30 }, () =>
        fetch(`${gw.gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'claude-test',
            max_tokens: 100,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        }).then((r) => r.text()),
      ),
    );
    expect((await gw.gateway.store.tokens.usage(run.id)).output).toBeLessThanOrEqual(100);
  });

  it('answers a websocket Upgrade on the proxy without passing it on', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    const before = seen.length;
    const answer = await raw(
      `GET /v1/responses HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nauthorization: Bearer ${token}\r\n\r\n`,
    );
    expect(answer).not.toMatch(/^HTTP\/1\.1 101/);
    expect(seen.length).toBe(before);
  });
});

describe('red team: the key in OpenAI streams', () => {
  const half = Math.floor(REAL_KEY.length / 2);

  it('never passes the key in a Responses stream: split deltas, done events, the completed response', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ev = (type: string, data: Record<string, unknown>) =>
        `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      const parts = [
        ev('response.created', { response: { id: 'r', status: 'in_progress', output: [] } }),
        ev('response.output_text.delta', {
          item_id: 'i',
          output_index: 0,
          content_index: 0,
          delta: `x ${REAL_KEY.slice(0, half)}`,
        }),
        ev('response.output_text.delta', {
          item_id: 'i',
          output_index: 0,
          content_index: 0,
          delta: `${REAL_KEY.slice(half)} y`,
        }),
        ev('response.function_call_arguments.delta', {
          item_id: 'f',
          output_index: 1,
          delta: `{"k":"${REAL_KEY.slice(0, 4)}`,
        }),
        ev('response.function_call_arguments.delta', {
          item_id: 'f',
          output_index: 1,
          delta: `${REAL_KEY.slice(4)}"}`,
        }),
        ev('response.function_call_arguments.done', {
          item_id: 'f',
          output_index: 1,
          arguments: `{"k":"${REAL_KEY}"}`,
        }),
        ev('response.output_text.done', {
          item_id: 'i',
          output_index: 0,
          content_index: 0,
          text: `x ${REAL_KEY} y`,
        }),
        ev('response.reasoning_summary_text.delta', {
          item_id: 'z',
          output_index: 2,
          summary_index: 0,
          delta: REAL_KEY,
        }),
        ev('response.completed', {
          response: {
            id: 'r',
            status: 'completed',
            output: [{ type: 'message', content: [{ type: 'output_text', text: REAL_KEY }] }],
            usage: { input_tokens: 1, output_tokens: 2 },
          },
        }),
      ];
      res.end(parts.join(''));
    };
    const res = await fetch(`${gw.gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-test', max_output_tokens: 5, stream: true, input: 'hi' }),
    });
    const text = await res.text();
    expect(text).toContain('response.completed');
    let joined = '';
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: ')) continue;
      const data = JSON.parse(line.slice(6)) as { delta?: string };
      if (typeof data.delta === 'string') joined += data.delta;
    }
    expect(text).not.toContain(REAL_KEY);
    expect(joined).not.toContain(REAL_KEY);
  });

  it('never passes the key split across Chat Completions content and tool argument chunks', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'claude-test', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.end(
        [
          chunk({ role: 'assistant', content: `a ${REAL_KEY.slice(0, half)}` }),
          chunk({ content: `${REAL_KEY.slice(half)} b` }),
          chunk({
            tool_calls: [
              {
                index: 0,
                id: 't',
                type: 'function',
                function: { name: 'f', arguments: `{"k":"${REAL_KEY.slice(0, 3)}` },
              },
            ],
          }),
          chunk(
            { tool_calls: [{ index: 0, function: { arguments: `${REAL_KEY.slice(3)}"}` } }] },
            'tool_calls',
          ),
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'claude-test', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })}\n\n`,
          'data: [DONE]\n\n',
        ].join(''),
      );
    };
    const res = await fetch(`${gw.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-test',
        max_tokens: 5,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    const text = await res.text();
    expect(text).toContain('[DONE]');
    let joined = '';
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const data = JSON.parse(line.slice(6)) as {
        choices: { delta: { content?: string; tool_calls?: { function?: { arguments?: string } }[] } }[];
      };
      for (const c of data.choices)
        joined += (c.delta.content ?? '') + (c.delta.tool_calls?.[0]?.function?.arguments ?? '');
    }
    expect(text).not.toContain(REAL_KEY);
    expect(joined).not.toContain(REAL_KEY);
  });
});

describe('red team: the content type the provider decodes with', () => {
  it('sends its own JSON as application/json whatever charset or type the agent declared', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'm', usage: { input_tokens: 1, output_tokens: 1 } }));
    };
    const before = seen.length;
    for (const type of [
      'application/json; charset=utf-7',
      'text/plain',
      'application/x-www-form-urlencoded',
    ]) {
      // In UTF-7, +ACI- is a quote: text the proxy checked as a string would be fields to the API.
      const res = await fetch(`${gw.gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': token, 'content-type': type },
        body: JSON.stringify({
          model: 'claude-test',
          max_tokens: 5,
          messages: [{ role: 'user', content: '+ACI-, +ACI-max+AF8-tokens+ACI-: 99999' }],
        }),
      });
      await res.text();
    }
    const sent = seen.slice(before);
    expect(sent.length).toBe(3);
    // Before: the agent's content type went through as it was.
    for (const s of sent) expect(s.headers['content-type']).toBe('application/json');
  });
});

describe('red team: an hour-long cache write against the input budget', () => {
  it('reserves a ttl 1h request at what settlement will charge, so it cannot fit under the cap at 1.25x', async () => {
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'm', usage: { input_tokens: 1, output_tokens: 1 } }));
    };
    const body = (ttl: string | undefined) => {
      let text = 'x';
      const make = () => ({
        model: 'claude-test',
        max_tokens: 5,
        system: [{ type: 'text', text, cache_control: { type: 'ephemeral', ...(ttl ? { ttl } : {}) } }],
        messages: [{ role: 'user', content: 'hi' }],
      });
      // A prompt whose bound fits the 1,000-token cap at 1.25x (5-minute writes), not at 2x.
      while (estimateInputTokens(make()) < 650) text += 'x';
      return JSON.stringify(make());
    };
    const post = async (ttl: string | undefined) => {
      const { token } = await gw.gateway.runs.create('cached');
      const res = await fetch(`${gw.gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body: body(ttl),
      });
      await res.text();
      return res.status;
    };
    expect(await post(undefined)).toBe(200);
    expect(await post('5m')).toBe(200);
    // Before: reserved at 1.25x and sent; settled at 2x it overshot the cap by 60%.
    expect(await post('1h')).toBe(402);
  });
});

describe('red team: the exact input count a near-cap reservation is retried with', () => {
  it('counts the MCP connector and output format the request carries', async () => {
    const { token } = await gw.gateway.runs.create('connector');
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: 5, id: 'm', usage: { input_tokens: 5, output_tokens: 1 } }));
    };
    const before = seen.length;
    const res = await fetch(`${gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-test',
        max_tokens: 5,
        mcp_servers: [{ type: 'url', url: 'https://mcp.example.test/sse', name: 'm' }],
        output_format: { type: 'json_schema', schema: { type: 'object' } },
        messages: [{ role: 'user', content: 'y'.repeat(400) }],
      }),
    });
    await res.text();
    const count = seen.slice(before).find((s) => s.url === '/v1/messages/count_tokens');
    expect(count).toBeDefined();
    // Before: the count left both out, so it was less than what the request costs.
    expect(JSON.parse(count?.body ?? '{}')).toMatchObject({
      mcp_servers: expect.any(Array),
      output_format: expect.any(Object),
    });
  });
});
