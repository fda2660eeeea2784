/**
 * Attacks a steered agent tries on the LLM proxy with raw HTTP (no SDK to keep it honest):
 * output multiplied past the cap by `n` choices, other paths and methods, the run token in
 * places other than the key headers, and bodies that are not what they say.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PRICES, REAL_KEY, useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    llm: { models: [claude-test] }
    budgets: { tokens: { output: 100 } }
`;
const llm = useLlmGateway(PROFILES, PRICES);

afterEach(() => {
  llm.fake.script = undefined;
  llm.fake.reflect = false;
});

async function token(): Promise<{ token: string; runId: string }> {
  const { run, token } = await llm.gw.gateway.runs.create('agent');
  return { token, runId: run.id };
}

function post(path: string, key: string, body: unknown, extra: Record<string, string> = {}) {
  return fetch(`${llm.gw.gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...extra },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const completions = () => llm.fake.received.filter((r) => r.path === '/v1/chat/completions');
const ask = { model: 'claude-test', messages: [{ role: 'user', content: 'hi' }] };

describe('LLM proxy attacks: n choices', () => {
  it('never lets n choices ask for more output in all than the output cap has left', async () => {
    const { token: t } = await token();
    const res = await post('/v1/chat/completions', t, { ...ask, n: 10, max_completion_tokens: 100 });
    await res.text();
    const sent = completions().at(-1)?.body;
    if (sent) {
      const n = typeof sent.n === 'number' ? sent.n : 1;
      const per = Number(sent.max_completion_tokens ?? sent.max_tokens);
      expect(n * per).toBeLessThanOrEqual(100);
    } else expect(res.status).toBe(400);
  });

  it('sends fewer choices than asked when fewer output tokens than choices are left', async () => {
    const { token: t } = await token();
    const res = await post('/v1/chat/completions', t, { ...ask, n: 128, max_completion_tokens: 50 });
    await res.text();
    const sent = completions().at(-1)?.body;
    expect(sent?.n).toBe(100);
    expect(sent?.max_completion_tokens).toBe(1);
  });

  it('refuses an n that is not a small positive integer, unsent', async () => {
    const { token: t } = await token();
    const before = completions().length;
    for (const n of ['10', 2.5, 0, -1, 1e9, 129]) {
      const res = await post('/v1/chat/completions', t, { ...ask, n, max_completion_tokens: 10 });
      expect(res.status, String(n)).toBe(400);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    }
    expect(completions().length).toBe(before);
  });
});

describe('LLM proxy attacks: paths and methods', () => {
  it('answers unknown API paths without reaching the provider', async () => {
    const { token: t } = await token();
    const before = llm.fake.received.length;
    for (const path of [
      '/v1/files',
      '/v1/messages/batches',
      '/v1/embeddings',
      '/v1/organizations/api_keys',
      '/v1/messages/../files',
      '/v1/messages%2f..%2ffiles',
      '/v1//messages',
    ]) {
      const res = await post(path, t, ask);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(await res.text(), path).not.toContain(REAL_KEY);
    }
    expect(llm.fake.received.length).toBe(before);
  });
});

describe('LLM proxy attacks: chat content the API looks up for the run', () => {
  const parts: Array<[string, unknown]> = [
    ['a stored file by file_id', { type: 'file', file: { file_id: 'file-abc123' } }],
    ['an image URL written as a bare string', { type: 'image_url', image_url: 'https://example.test/x.png' }],
  ];
  for (const [what, part] of parts)
    it(`refuses ${what} in a chat message unless url_sources is open`, async () => {
      const { token: t } = await token();
      const before = completions().length;
      const res = await post('/v1/chat/completions', t, {
        ...ask,
        max_tokens: 10,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'read this' }, part] }],
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('url_sources');
      expect(completions().length).toBe(before);
    });
});

describe('LLM proxy attacks: Anthropic content looked up in the account', () => {
  it('refuses a document whose source is a stored file id unless url_sources is open', async () => {
    const { token: t } = await token();
    const before = llm.fake.received.length;
    const res = await fetch(`${llm.gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': t, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-test',
        max_tokens: 10,
        messages: [
          { role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'file_011abc' } }] },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('url_sources');
    expect(llm.fake.received.length).toBe(before);
  });
});

describe('LLM proxy attacks: request framing', () => {
  async function raw(head: string, body: string): Promise<string> {
    const { connect } = await import('node:net');
    const url = new URL(llm.gw.gateway.url);
    return new Promise((resolve) => {
      const socket = connect(Number(url.port), url.hostname);
      let got = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        got += d;
      });
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
      socket.write(`${head}\r\n\r\n${body}`);
      setTimeout(() => socket.end(), 1500);
    });
  }

  for (const [what, framing] of [
    ['Content-Length with Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked'],
    ['two different Content-Lengths', 'Content-Length: 5\r\nContent-Length: 200'],
  ] as const)
    it(`refuses ${what} and sends nothing upstream`, async () => {
      const { token: t } = await token();
      const before = llm.fake.received.length;
      const body = JSON.stringify({ ...ask, max_tokens: 5 });
      const answer = await raw(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/json\r\n${framing}`,
        `0\r\n\r\n${body}`,
      );
      expect(answer.startsWith('HTTP/1.1 4')).toBe(true);
      expect(llm.fake.received.length).toBe(before);
    });
});

describe('LLM proxy attacks: count_tokens as a way around the checks', () => {
  it('refuses count_tokens for a model the run may not use, unsent', async () => {
    const { token: t } = await token();
    const before = llm.fake.received.filter((r) => r.path === '/v1/messages/count_tokens').length;
    const res = await fetch(`${llm.gw.gateway.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': t, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-other', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(403);
    expect(llm.fake.received.filter((r) => r.path === '/v1/messages/count_tokens').length).toBe(before);
  });
});

describe('LLM proxy attacks: Responses content looked up for the run', () => {
  it('refuses an input_image whose image_url is an object holding a URL unless url_sources is open', async () => {
    const { token: t } = await token();
    const before = llm.fake.received.length;
    const res = await post('/v1/responses', t, {
      model: 'claude-test',
      max_output_tokens: 10,
      input: [
        {
          role: 'user',
          content: [{ type: 'input_image', image_url: { url: 'https://example.test/x.png' } }],
        },
      ],
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('url_sources');
    expect(llm.fake.received.length).toBe(before);
  });
});

describe('LLM proxy attacks: count_tokens as a free channel', () => {
  it('answers a run’s counts past a minute’s worth with the API’s 429, unsent', async () => {
    const { token: t } = await token();
    const counts = () => llm.fake.received.filter((r) => r.path === '/v1/messages/count_tokens').length;
    const before = counts();
    const statuses: number[] = [];
    let refusal: Response | undefined;
    for (let k = 0; k < 65; k++) {
      const res = await post('/v1/messages/count_tokens', t, {
        model: 'claude-test',
        messages: ask.messages,
      });
      statuses.push(res.status);
      if (res.status === 429) refusal ??= res;
      else await res.text();
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(counts() - before).toBe(60);
    if (!refusal) throw new Error('no count was refused');
    expect(refusal.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(((await refusal.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
  });
});
