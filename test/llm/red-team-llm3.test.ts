/**
 * Attacks on the LLM proxy, third round, against a raw provider this file scripts byte for byte:
 * copies of the answer the scrubber sees only in pieces (log probabilities, refusal and
 * reasoning deltas), and usage a request reports outside its top-level counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/harness.js';
import { llmPolicy, PRICES, REAL_KEY, withRealKey } from '../helpers/llm-harness.js';
import { type Handler, type RawProvider, startRawProvider } from '../helpers/raw-provider.js';

let provider: RawProvider;
let gw: TestGateway;

const PROFILES = `
  agent:
    budgets: { tokens: { output: 1000 } }
  logprobs:
    llm: { body_fields: [logprobs, top_logprobs] }
    budgets: { tokens: { output: 1000 } }
  files:
    budgets: { tokens: { input: 20000 } }
  interpreter:
    llm: { server_tools: [code_execution, code_interpreter], betas: [files-api-2025-04-14] }
  compacting:
    llm: { betas: [compact-2026-01-12] }
    budgets: { tokens: { input: 1000 } }
`;

beforeAll(async () => {
  provider = await startRawProvider((_s, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'x', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }));
  });
  gw = await startTestGateway(llmPolicy(provider.url, PROFILES, PRICES), withRealKey);
});

afterAll(async () => {
  await gw?.close();
  await provider?.close();
});

const half = Math.floor(REAL_KEY.length / 2);
/** The key cut into pieces of 3 characters, as a tokenizer would. */
const tokens = REAL_KEY.match(/.{1,3}/g) ?? [];

async function post(path: string, token: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${gw.gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-test',
  max_tokens: 5,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

/** Every token and UTF-8 byte list a logprobs answer holds, joined as a client would. */
function fromLogprobs(text: string): { tokens: string; bytes: string } {
  let t = '';
  const b: number[] = [];
  JSON.stringify(JSON.parse(text), (key, value: unknown) => {
    if (key === 'token' && typeof value === 'string') t += value;
    if (key === 'bytes' && Array.isArray(value)) b.push(...(value as number[]));
    return value;
  });
  return { tokens: t, bytes: Buffer.from(b).toString() };
}

/** A plain chat answer whose text is the key, with log probabilities spelling it token by token. */
const spelledByLogprobs: Handler = (_s, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      id: 'c',
      object: 'chat.completion',
      model: 'claude-test',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: REAL_KEY },
          logprobs: {
            content: tokens.map((t) => ({
              token: t,
              logprob: -0.1,
              bytes: [...Buffer.from(t)],
              top_logprobs: [],
            })),
          },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    }),
  );
};

describe('red team: log probabilities, a second copy of the answer in pieces', () => {
  const asks: Array<[string, string, Record<string, unknown>, string]> = [
    ['chat logprobs: true', '/v1/chat/completions', chat({ logprobs: true }), 'logprobs'],
    ['chat top_logprobs', '/v1/chat/completions', chat({ top_logprobs: 2 }), 'top_logprobs'],
    [
      'a Responses include of output text logprobs',
      '/v1/responses',
      {
        model: 'claude-test',
        input: 'hi',
        include: ['reasoning.encrypted_content', 'message.output_text.logprobs'],
      },
      'include',
    ],
    [
      'Responses top_logprobs',
      '/v1/responses',
      { model: 'claude-test', input: 'hi', top_logprobs: 5 },
      'top_logprobs',
    ],
  ];
  for (const [what, path, body, field] of asks) {
    it(`refuses ${what} unless the profile lists logprobs, unsent`, async () => {
      const { token } = await gw.gateway.runs.create('agent');
      provider.handler = spelledByLogprobs;
      const before = provider.seen.length;
      const res = await post(path, token, body);
      const answer = (await res.json()) as { error: { type: string; message: string; param?: string } };
      expect(res.status).toBe(400);
      expect(answer.error.type).toBe('invalid_request_error');
      expect(answer.error.message).toContain(field);
      expect(answer.error.message).toContain('llm.body_fields');
      expect(provider.seen.length).toBe(before);
    });
  }

  it('passes logprobs: false, and the Responses include Codex sends', async () => {
    const { token } = await gw.gateway.runs.create('agent');
    provider.handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ id: 'x', choices: [], output: [], usage: { input_tokens: 1, output_tokens: 1 } }),
      );
    };
    expect((await post('/v1/chat/completions', token, chat({ logprobs: false }))).status).toBe(200);
    const codex = { model: 'claude-test', input: 'hi', include: ['reasoning.encrypted_content'] };
    expect((await post('/v1/responses', token, codex)).status).toBe(200);
  });

  it('forwards log probabilities where the profile lists them (the scrubber cannot mask a secret they spell)', async () => {
    const { token } = await gw.gateway.runs.create('logprobs');
    provider.handler = spelledByLogprobs;
    const res = await post('/v1/chat/completions', token, chat({ logprobs: true, top_logprobs: 2 }));
    const text = await res.text();
    expect(res.status).toBe(200);
    // Documented, not hidden: the text is masked, its tokens are not.
    expect(text).not.toContain(REAL_KEY);
    expect(fromLogprobs(text).tokens).toBe(REAL_KEY);
  });
});

/** Chat Completions chunks whose `delta` carries `pieces` of one field, then usage and [DONE]. */
function chatStream(field: string, pieces: string[]): Handler {
  return (_s, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'claude-test', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.end(
      [
        chunk({ role: 'assistant' }),
        ...pieces.map((p) => chunk({ [field]: p })),
        chunk({}, 'stop'),
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'claude-test', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })}\n\n`,
        'data: [DONE]\n\n',
      ].join(''),
    );
  };
}

describe('red team: strings a Chat Completions client appends chunk by chunk', () => {
  for (const field of ['refusal', 'reasoning_content', 'reasoning']) {
    it(`scrubs a key split across ${field} chunks as one string, which stays whole otherwise`, async () => {
      const { token } = await gw.gateway.runs.create('agent');
      provider.handler = chatStream(field, [
        `a ${REAL_KEY.slice(0, half)}`,
        `${REAL_KEY.slice(half)} b`,
        ' c',
      ]);
      const res = await post('/v1/chat/completions', token, chat({ stream: true }));
      const text = await res.text();
      expect(text).toContain('[DONE]');
      let joined = '';
      for (const line of text.split('\n')) {
        if (!line.startsWith('data: {')) continue;
        const data = JSON.parse(line.slice(6)) as { choices: { delta: Record<string, unknown> }[] };
        for (const c of data.choices) joined += typeof c.delta[field] === 'string' ? c.delta[field] : '';
      }
      expect(joined).not.toContain(REAL_KEY);
      expect(joined).toMatch(/^a .+ b c$/);
    });
  }
});

/** A PDF of a few hundred bytes: its pages' cost is not in its size (a real one held 100 pages). */
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n%%EOF').toString('base64');

/** A provider whose count and usage say the file cost `tokens` input tokens; `count` answers with this status. */
function costlyFile(tokens: number, count = 200): Handler {
  return (s, res) => {
    res.writeHead(s.url.endsWith('count_tokens') ? count : 200, { 'content-type': 'application/json' });
    if (s.url.endsWith('count_tokens')) res.end(JSON.stringify({ input_tokens: tokens }));
    else
      res.end(
        JSON.stringify({
          id: 'x',
          type: 'message',
          content: [],
          choices: [],
          output: [],
          usage: { input_tokens: tokens, output_tokens: 1, prompt_tokens: tokens, completion_tokens: 1 },
        }),
      );
  };
}

const pdfMessage = {
  model: 'claude-test',
  max_tokens: 5,
  messages: [
    {
      role: 'user',
      content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } }],
    },
  ],
};

describe('red team: a file whose bytes do not bound its tokens', () => {
  it('reserves an Anthropic PDF at its exact count, refusing it unsent when that is over the cap', async () => {
    const { token } = await gw.gateway.runs.create('files');
    provider.handler = costlyFile(150_000);
    const before = provider.seen.length;
    const res = await post('/v1/messages', token, pdfMessage);
    expect(res.status).toBe(402);
    expect(provider.seen.slice(before).map((s) => s.url)).toEqual(['/v1/messages/count_tokens']);
  });

  it('sends an Anthropic PDF whose exact count fits, reserved at that count', async () => {
    const { token } = await gw.gateway.runs.create('files');
    provider.handler = costlyFile(3_000);
    expect((await post('/v1/messages', token, pdfMessage)).status).toBe(200);
  });

  it('reserves a PDF it cannot count at the largest context window (refused under a smaller cap)', async () => {
    const { token } = await gw.gateway.runs.create('files');
    const file = {
      type: 'file',
      file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${PDF}` },
    };
    const inputFile = {
      type: 'input_file',
      filename: 'a.pdf',
      file_data: `data:application/pdf;base64,${PDF}`,
    };
    const requests: Array<[string, Record<string, unknown>, number]> = [
      ['/v1/messages', pdfMessage, 500],
      ['/v1/chat/completions', chat({ messages: [{ role: 'user', content: [file] }] }), 200],
      ['/v1/responses', { model: 'claude-test', input: [{ role: 'user', content: [inputFile] }] }, 200],
    ];
    for (const [path, body, count] of requests) {
      provider.handler = costlyFile(150_000, count);
      const before = provider.seen.length;
      const res = await post(path, token, body);
      expect(res.status, path).toBe(402);
      expect(provider.seen.slice(before).filter((s) => s.url === path)).toEqual([]);
    }
  });
});

async function settled(runId: string) {
  for (let i = 0; i < 200; i++) {
    const usage = await gw.gateway.store.tokens.usage(runId);
    if (usage.requests >= 1) return usage;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('never settled');
}

describe('red team: images at the resolution of the newest models', () => {
  it('reserves a small image at what a 2,576-pixel one costs, so eight of them cannot pass under the cap', async () => {
    const { token } = await gw.gateway.runs.create('files');
    // Eight images of 4,784 tokens each (Opus 4.7's ceiling), a few bytes apiece as sent.
    provider.handler = costlyFile(8 * 4_784);
    const image = {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
    };
    const before = provider.seen.length;
    const res = await post('/v1/messages', token, {
      model: 'claude-test',
      max_tokens: 5,
      messages: [{ role: 'user', content: Array.from({ length: 8 }, () => image) }],
    });
    // Before: reserved at 8 × 1,600 (within the cap of 20,000), sent, and charged 38,272.
    expect(res.status).toBe(402);
    expect(provider.seen.slice(before).filter((s) => s.url === '/v1/messages')).toEqual([]);
  });
});

describe('red team: a request that samples twice (compaction)', () => {
  const COMPACT = [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 50_000 } }];
  /** A Messages request of `text`, compacting when `edits` are given (with the beta it needs). */
  const send = (token: string, text: string, max: number, edits?: unknown[]) =>
    fetch(`${gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': token,
        'content-type': 'application/json',
        ...(edits ? { 'anthropic-beta': 'compact-2026-01-12' } : {}),
      },
      body: JSON.stringify({
        model: 'claude-test',
        max_tokens: max,
        ...(edits ? { context_management: { edits } } : {}),
        messages: [{ role: 'user', content: text }],
      }),
    });

  it('charges every pass its iterations report, not only the top-level counts that leave compaction out', async () => {
    const { run, token } = await gw.gateway.runs.create('compacting');
    provider.handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'x',
          type: 'message',
          content: [{ type: 'compaction', content: 'summary' }],
          usage: {
            input_tokens: 230,
            output_tokens: 10,
            iterations: [
              { type: 'compaction', input_tokens: 1800, output_tokens: 35 },
              { type: 'message', input_tokens: 230, output_tokens: 10 },
            ],
          },
        }),
      );
    };
    expect((await send(token, 'hi', 50, COMPACT)).status).toBe(200);
    const usage = await settled(run.id);
    // Before: 230 in, 10 out; the compaction pass's 1,800 read and 35 written were free.
    expect(usage.input).toBe(2030);
    expect(usage.output).toBe(45);
  });

  it('reserves a compacting request at two passes over its prompt', async () => {
    const text = 'x'.repeat(600);
    provider.handler = costlyFile(600);
    const once = await gw.gateway.runs.create('compacting');
    expect((await send(once.token, text, 5)).status).toBe(200);
    const { token } = await gw.gateway.runs.create('compacting');
    const before = provider.seen.length;
    // 600 tokens a pass, two passes, weighted as cache writes: over the cap of 1,000.
    expect((await send(token, text, 5, COMPACT)).status).toBe(402);
    expect(provider.seen.slice(before).filter((s) => s.url === '/v1/messages')).toEqual([]);
  });
});

describe('red team: stored files loaded into a code-execution container', () => {
  it('refuses an Anthropic container_upload by file id where only code execution is open', async () => {
    const { token } = await gw.gateway.runs.create('interpreter');
    const before = provider.seen.length;
    const res = await fetch(`${gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': token,
        'content-type': 'application/json',
        'anthropic-beta': 'files-api-2025-04-14',
      },
      body: JSON.stringify({
        model: 'claude-test',
        max_tokens: 5,
        tools: [{ type: 'code_execution_20250825', name: 'code_execution' }],
        messages: [{ role: 'user', content: [{ type: 'container_upload', file_id: 'file_another_runs' }] }],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('url_sources');
    expect(provider.seen.length).toBe(before);
  });

  it('refuses a Responses code interpreter container holding stored file ids where only the tool is open', async () => {
    const { token } = await gw.gateway.runs.create('interpreter');
    const before = provider.seen.length;
    const res = await post('/v1/responses', token, {
      model: 'claude-test',
      input: 'hi',
      tools: [{ type: 'code_interpreter', container: { type: 'auto', file_ids: ['file-another-runs'] } }],
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('url_sources');
    expect(provider.seen.length).toBe(before);
  });
});
