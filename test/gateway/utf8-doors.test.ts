/**
 * Bytes that are not UTF-8 at the agent's doors (`/mcp` and the LLM proxy's
 * `/v1/*`) are refused, each in its own error shape, never decoded into
 * U+FFFD and passed on: a policy, a scrubber or an upstream would otherwise
 * judge other text than the client sent. Sent raw, with a declared length
 * and chunked, the way a hostile client would; a valid body split across
 * chunks in the middle of a character is accepted as it was sent.
 */
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MCP_HEADERS, rawSession, sessionHeaders } from '../helpers/harness.js';
import { useLlmGateway } from '../helpers/llm-harness.js';

const llm = useLlmGateway(`
  agent:
    budgets: { tokens: { output: 100000 } }
`);

/** Byte sequences no UTF-8 decoder may accept, each put inside an otherwise valid JSON string. */
const INVALID: [string, number[]][] = [
  ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
  ['an overlong three-byte "/" (E0 80 AF)', [0xe0, 0x80, 0xaf]],
  ['an overlong four-byte NUL (F0 80 80 80)', [0xf0, 0x80, 0x80, 0x80]],
  ['a lone high surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
  ['a lone low surrogate (ED BF BF)', [0xed, 0xbf, 0xbf]],
  ['a code point past U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
  ['a byte that never starts a character (FF)', [0xff]],
  ['a stray continuation byte (80)', [0x80]],
  ['a sequence cut short inside the string (E2 82)', [0xe2, 0x82]],
];

/** `before` + bad bytes + `after`, as bytes. */
function withBytes(before: string, bad: number[], after: string): Buffer {
  return Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]);
}

/** Sends `pieces` as one POST body: with a declared length, or chunked with a pause between pieces. */
function send(
  path: string,
  headers: Record<string, string>,
  pieces: Buffer[],
  chunked: boolean,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const length = pieces.reduce((n, p) => n + p.length, 0);
    const req = request(new URL(`${llm.gw.gateway.url}${path}`), {
      method: 'POST',
      headers: {
        ...headers,
        ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }),
      },
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    void (async () => {
      for (const piece of pieces) {
        req.write(piece);
        // Separate writes with a pause, so the gateway reads them as separate chunks.
        if (chunked) await sleep(15);
      }
      req.end();
    })();
  });
}

/** Cuts `bytes` inside each multi-byte character of `marker` (one cut per character). */
function splitInsideCharacters(bytes: Buffer, marker: string): Buffer[] {
  const at = bytes.indexOf(Buffer.from(marker));
  const cuts: number[] = [];
  let offset = at;
  for (const ch of marker) {
    const size = Buffer.byteLength(ch);
    if (size > 1) cuts.push(offset + 1 + (cuts.length % (size - 1)));
    offset += size;
  }
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(bytes.subarray(from, cut));
    from = cut;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

/** Characters of one, two, three and four bytes, and a real U+FFFD, which is valid UTF-8. */
const MULTIBYTE = 'é€😀\uFFFDñ中𝄞';

describe('invalid UTF-8 at /mcp', () => {
  async function mcpSession(): Promise<Record<string, string>> {
    const { token } = await llm.gw.gateway.runs.create('agent');
    const session = await rawSession(llm.gw.gateway.url, token);
    return { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...sessionHeaders(session) };
  }

  for (const chunked of [false, true]) {
    const how = chunked ? 'chunked' : 'with a declared length';
    it(`refuses each invalid sequence ${how} with a JSON-RPC parse error`, async () => {
      const headers = await mcpSession();
      for (const [name, bad] of INVALID) {
        const body = withBytes('{"jsonrpc":"2.0","id":"ab', bad, 'cd","method":"ping"}');
        const pieces = chunked ? [body.subarray(0, 20), body.subarray(20)] : [body];
        const answer = await send('/mcp', headers, pieces, chunked);
        expect(answer.status, name).toBe(400);
        expect(JSON.parse(answer.body), name).toMatchObject({
          jsonrpc: '2.0',
          id: null,
          error: { code: -32700, message: expect.stringContaining('UTF-8') },
        });
      }
    });
  }

  it('refuses a body that ends inside a character, and says why', async () => {
    const headers = await mcpSession();
    const body = withBytes('{"jsonrpc":"2.0","id":1,"method":"ping"}', [0xf0, 0x9f, 0x98], '');
    for (const chunked of [false, true]) {
      const answer = await send('/mcp', headers, [body], chunked);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({
        error: { code: -32700, message: expect.stringContaining('UTF-8') },
      });
    }
  });

  it('accepts a valid body split across chunks inside its characters, as it was sent', async () => {
    const headers = await mcpSession();
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: `id-${MULTIBYTE}`, method: 'ping' }));
    const pieces = splitInsideCharacters(body, MULTIBYTE);
    expect(pieces.length).toBeGreaterThan(5);
    const answer = await send('/mcp', headers, pieces, true);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ id: `id-${MULTIBYTE}`, result: {} });
  });
});

describe('invalid UTF-8 at the LLM proxy', () => {
  const message = (text: Buffer | string) =>
    Buffer.concat([
      Buffer.from('{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"'),
      Buffer.isBuffer(text) ? text : Buffer.from(text),
      Buffer.from('"}]}'),
    ]);

  for (const chunked of [false, true]) {
    const how = chunked ? 'chunked' : 'with a declared length';
    it(`refuses each invalid sequence ${how} at every /v1 door, in the API's 400 shape, forwarding nothing`, async () => {
      const { token } = await llm.gw.gateway.runs.create('agent');
      const before = llm.fake.received.length;
      for (const [name, bad] of INVALID) {
        const body = message(withBytes('hello ', bad, ' world'));
        const pieces = chunked ? [body.subarray(0, 70), body.subarray(70)] : [body];
        for (const [path, auth] of [
          ['/v1/messages', { 'x-api-key': token }],
          ['/v1/messages/count_tokens', { 'x-api-key': token }],
          ['/v1/chat/completions', { authorization: `Bearer ${token}` }],
        ] as const) {
          const answer = await send(path, { 'content-type': 'application/json', ...auth }, pieces, chunked);
          expect(answer.status, `${path}: ${name}`).toBe(400);
          expect(JSON.parse(answer.body), `${path}: ${name}`).toMatchObject({
            type: 'error',
            error: { type: 'invalid_request_error', message: expect.stringContaining('UTF-8') },
          });
        }
      }
      expect(llm.fake.received.length).toBe(before);
    });
  }

  it('accepts a valid body split across chunks inside its characters and forwards it unchanged', async () => {
    const { token } = await llm.gw.gateway.runs.create('agent');
    const body = message(`say ${MULTIBYTE}`);
    const pieces = splitInsideCharacters(body, MULTIBYTE);
    const answer = await send(
      '/v1/messages',
      { 'content-type': 'application/json', 'x-api-key': token },
      pieces,
      true,
    );
    expect(answer.status).toBe(200);
    const sent = llm.fake.received.at(-1)?.body as { messages: { content: string }[] };
    expect(sent.messages[0]?.content).toBe(`say ${MULTIBYTE}`);
  });
});

describe('invalid UTF-8 at the operator API', () => {
  it('refuses a run whose label is not UTF-8, or escapes a lone surrogate, with a 400 naming it, and creates no run', async () => {
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${llm.gw.gateway.localToken}`,
    };
    const before = (await llm.gw.gateway.store.runs.list()).length;
    const body = withBytes('{"profile":"agent","label":"lab', [0xed, 0xa0, 0x80], 'el"}');
    const answer = await send('/api/runs', headers, [body], false);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('UTF-8');
    expect((await llm.gw.gateway.store.runs.list()).length).toBe(before);
    const escaped = Buffer.from('{"profile":"agent","label":"a\\ud800b"}');
    const refused = await send('/api/runs', headers, [escaped], false);
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('surrogate');
    expect((await llm.gw.gateway.store.runs.list()).length).toBe(before);
    const ok = await send(
      '/api/runs',
      headers,
      [Buffer.from(`{"profile":"agent","label":"${MULTIBYTE}"}`)],
      false,
    );
    expect(ok.status).toBe(201);
  });
});

/** JSON escapes that decode to no character: a high surrogate without its low, a low without its high. */
const LONE_ESCAPES: [string, string][] = [
  ['a lone high surrogate', 'a\\ud800b'],
  ['a lone low surrogate', 'a\\uDC00b'],
  ['a reversed pair', 'a\\udc00\\ud800b'],
  ['a high surrogate at the end of the string', 'ab\\uDBFF'],
  ['a high surrogate before an escaped non-surrogate', 'a\\ud800\\u0041'],
];
/** Escapes that are fine: a whole pair, as Python's json.dumps writes an emoji, and an escaped backslash. */
const FINE_ESCAPES: [string, string][] = [
  ['an escaped pair', 'a\\ud83d\\ude00b'],
  ['an escaped backslash before the letters ud800', 'a\\\\ud800b'],
];

describe('JSON escapes of lone surrogates at the doors', () => {
  it('are refused at /mcp with a JSON-RPC parse error; whole pairs pass', async () => {
    const { token } = await llm.gw.gateway.runs.create('agent');
    const session = await rawSession(llm.gw.gateway.url, token);
    const headers = { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...sessionHeaders(session) };
    for (const [name, escaped] of LONE_ESCAPES) {
      const body = Buffer.from(`{"jsonrpc":"2.0","id":"${escaped}","method":"ping"}`);
      const answer = await send('/mcp', headers, [body], false);
      expect(answer.status, name).toBe(400);
      expect(JSON.parse(answer.body), name).toMatchObject({
        error: { code: -32700, message: expect.stringContaining('surrogate') },
      });
    }
    for (const [name, escaped] of FINE_ESCAPES) {
      const body = Buffer.from(`{"jsonrpc":"2.0","id":"${escaped}","method":"ping"}`);
      const answer = await send('/mcp', headers, [body], false);
      expect(answer.status, name).toBe(200);
      expect(JSON.parse(answer.body).id, name).toBe(JSON.parse(`"${escaped}"`));
    }
  });

  it('are refused at /v1 in the API shape before anything is forwarded; whole pairs pass', async () => {
    const { token } = await llm.gw.gateway.runs.create('agent');
    const before = llm.fake.received.length;
    const headers = { 'content-type': 'application/json', 'x-api-key': token };
    for (const [name, escaped] of LONE_ESCAPES) {
      const body = Buffer.from(
        `{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"${escaped}"}]}`,
      );
      const answer = await send('/v1/messages', headers, [body], false);
      expect(answer.status, name).toBe(400);
      expect(JSON.parse(answer.body), name).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining('surrogate') },
      });
    }
    expect(llm.fake.received.length).toBe(before);
    for (const [name, escaped] of FINE_ESCAPES) {
      const body = Buffer.from(
        `{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"${escaped}"}]}`,
      );
      const answer = await send('/v1/messages', headers, [body], false);
      expect(answer.status, name).toBe(200);
      const sent = llm.fake.received.at(-1)?.body as { messages: { content: string }[] };
      expect(sent.messages[0]?.content, name).toBe(JSON.parse(`"${escaped}"`));
    }
  });
});
