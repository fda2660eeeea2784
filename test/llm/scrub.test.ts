/**
 * Everything the LLM proxy returns is scrubbed, tried as a reflecting or
 * hostile upstream would: the real key or a rule-matched secret split across
 * 2, 3 or every SSE event, split inside an event's bytes, cut by the end of
 * the stream, in text, tool input JSON and thinking deltas, in plain JSON
 * bodies, in count_tokens answers, in error bodies, echoed back as a header
 * dump, and in base64. The agent is the real Anthropic SDK; raw responses are
 * also read byte for byte, so no fragment can hide in the framing.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptBlock } from '../fakes/fake-anthropic.js';
import { REAL_KEY, useLlmGateway } from '../helpers/llm-harness.js';

const GITHUB = `ghp_${'A1b2C3d4E5'.repeat(3)}xYz123`;
const B64_KEY = Buffer.from(`key=${REAL_KEY}`).toString('base64');

const PROFILES = `
  agent:
    budgets: { tokens: { output: 100000 } }
`;
const llm = useLlmGateway(PROFILES);

const ask = { model: 'claude-test', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 500 };

async function client(): Promise<{ sdk: Anthropic; token: string }> {
  const { token } = await llm.gw.gateway.runs.create('agent');
  return { sdk: new Anthropic({ apiKey: token, baseURL: llm.gw.gateway.url, maxRetries: 0 }), token };
}

/** The raw bytes the agent receives, for checks no SDK parsing can hide. */
async function raw(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const { token } = await client();
  const res = await fetch(`${llm.gw.gateway.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** Fails if any piece of the key of 8 or more characters reached the agent. */
function expectNoFragment(text: string, secret = REAL_KEY): void {
  for (let i = 0; i + 8 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 8));
}

/** Every SSE event in a raw stream is well formed: event line, one JSON data line, blank line. */
function expectValidSse(text: string): unknown[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      expect(lines[0]).toMatch(/^event: [a-z_]+$/);
      expect(lines[1]).toMatch(/^data: /);
      expect(lines.length).toBe(2);
      return JSON.parse((lines[1] as string).slice(6)) as unknown;
    });
}

/** `text` cut into `n` pieces of near-equal length. */
function cut(text: string, n: number): string[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => text.slice(i * size, (i + 1) * size)).filter(Boolean);
}

afterEach(() => {
  llm.fake.script = undefined;
  llm.fake.rawStream = undefined;
  llm.fake.reflect = false;
  llm.fake.failWith = undefined;
  llm.fake.delayMs = 5;
});

describe('streamed answers are scrubbed across SSE events', () => {
  const full = `Your key is ${REAL_KEY} and the token ${GITHUB}, encoded ${B64_KEY}. Done.`;

  for (const pieces of [2, 3, 7, full.length]) {
    it(`a secret split over ${pieces === full.length ? 'every character as its own' : pieces} text deltas never reaches the agent, and the text equals scrub(full)`, async () => {
      llm.fake.delayMs = 0;
      llm.fake.script = [{ type: 'text', chunks: cut(full, pieces) }];
      const { sdk } = await client();
      const message = await sdk.messages.stream({ ...ask }).finalMessage();
      const text = (message.content[0] as { text: string }).text;
      expect(text).toBe(llm.gw.gateway.scrubber.text(full));
      expect(text).toContain('[REDACTED:secret]');
      expect(text).toContain('[REDACTED:github-pat]');
      expectNoFragment(text);
      const answer = await raw('/v1/messages', { ...ask, stream: true });
      expectNoFragment(answer.text);
      expect(answer.text).not.toContain(GITHUB.slice(4, 20));
      expectValidSse(answer.text);
    });
  }

  it('a secret in tool input JSON split across input_json_delta events is redacted and the JSON stays valid', async () => {
    const json = JSON.stringify({ command: `curl -H 'x-api-key: ${REAL_KEY}' https://x.test` });
    llm.fake.script = [{ type: 'tool_use', name: 'bash', chunks: cut(json, 5) }];
    const { sdk } = await client();
    const message = await sdk.messages.stream({ ...ask }).finalMessage();
    const block = message.content[0] as { type: string; input: { command: string } };
    expect(block.type).toBe('tool_use');
    expect(block.input.command).toBe("curl -H 'x-api-key: [REDACTED:secret]' https://x.test");
    expectNoFragment((await raw('/v1/messages', { ...ask, stream: true })).text);
  });

  it('thinking deltas and the content_block_start text are scrubbed as one stream', async () => {
    const thinking: ScriptBlock = {
      type: 'thinking',
      chunks: cut(`I recall ${REAL_KEY}.`, 3),
      signature: 'sig',
    };
    llm.fake.script = [thinking, { type: 'text', chunks: ['ok'] }];
    const { sdk } = await client();
    const message = await sdk.messages.stream({ ...ask }).finalMessage();
    expect(message.content[0]).toMatchObject({
      type: 'thinking',
      thinking: 'I recall [REDACTED:secret].',
      signature: 'sig',
    });
    expect(message.content[1]).toMatchObject({ type: 'text', text: 'ok' });
  });

  it('a secret whose first part rides in content_block_start and the rest in a delta is caught', async () => {
    const events = [
      [
        'message_start',
        {
          type: 'message_start',
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
        },
      ],
      [
        'content_block_start',
        {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: `see ${REAL_KEY.slice(0, 15)}` },
        },
      ],
      [
        'content_block_delta',
        {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: `${REAL_KEY.slice(15)} end` },
        },
      ],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      [
        'message_delta',
        {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: 5 },
        },
      ],
      ['message_stop', { type: 'message_stop' }],
    ] as const;
    llm.fake.rawStream = events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`);
    const { sdk } = await client();
    const message = await sdk.messages.stream({ ...ask }).finalMessage();
    expect(message.content[0]).toMatchObject({ text: 'see [REDACTED:secret] end' });
  });

  it('bytes of one event split mid-line and mid-character across TCP writes are reassembled before scrubbing', async () => {
    const start = `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } })}\n\n`;
    const block = `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n`;
    const delta = `event: content_block_delta\r\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `日本 ${REAL_KEY} 語` } })}\r\n\r\n`;
    const tail = `event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\nevent: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n`;
    const bytes = Buffer.from(start + block + delta + tail);
    // Written as latin1 strings of raw bytes would re-encode; split the UTF-8 text at character
    // boundaries the fake can write, one piece inside the key and one inside the CRLF.
    const d = start.length + block.length;
    const at = [d + 40, d + delta.indexOf(REAL_KEY) + 10, d + delta.length - 1];
    const text = bytes.toString();
    llm.fake.rawStream = [
      text.slice(0, at[0]),
      text.slice(at[0], at[1]),
      text.slice(at[1], at[2]),
      text.slice(at[2]),
    ];
    const { sdk } = await client();
    const message = await sdk.messages.stream({ ...ask }).finalMessage();
    expect(message.content[0]).toMatchObject({ text: '日本 [REDACTED:secret] 語' });
  });

  it('a stream that ends in the middle of a secret hands the agent no part of it', async () => {
    const events = [
      [
        'message_start',
        {
          type: 'message_start',
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
        },
      ],
      [
        'content_block_start',
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      ],
      [
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'here it comes: ' } },
      ],
      [
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: REAL_KEY.slice(0, 20) } },
      ],
    ] as const;
    llm.fake.rawStream = events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`);
    const answer = await raw('/v1/messages', { ...ask, stream: true });
    expect(answer.text).toContain('here it comes');
    expectNoFragment(answer.text, REAL_KEY.slice(0, 20));
  });

  it('a reflecting upstream that echoes the headers it received in message_start leaks nothing', async () => {
    llm.fake.reflect = true;
    const answer = await raw('/v1/messages', { ...ask, stream: true });
    expect(answer.text).toContain('received_headers');
    expectNoFragment(answer.text);
    expectValidSse(answer.text);
  });
});

describe('plain answers are scrubbed on every endpoint', () => {
  it('a 2xx JSON answer with the key, a rule-matched token and a base64 form is scrubbed and stays JSON', async () => {
    const full = `k=${REAL_KEY} g=${GITHUB} b=${B64_KEY}`;
    llm.fake.script = [{ type: 'text', chunks: [full] }];
    const { sdk } = await client();
    const message = await sdk.messages.create({ ...ask });
    const text = (message.content[0] as { text: string }).text;
    expect(text).toBe(llm.gw.gateway.scrubber.text(full));
    expect(text).toMatch(/^k=\[REDACTED:secret\] g=\[REDACTED:github-pat\] b=.*\[REDACTED:secret\]/);
    const answer = await raw('/v1/messages', ask);
    expectNoFragment(answer.text);
    expect(answer.text).not.toContain(B64_KEY.slice(8, 30));
  });

  it('tool input JSON in a plain answer is scrubbed', async () => {
    llm.fake.script = [
      { type: 'tool_use', name: 'bash', chunks: [JSON.stringify({ env: { KEY: REAL_KEY } })] },
    ];
    const { sdk } = await client();
    const message = await sdk.messages.create({ ...ask });
    expect(message.content[0]).toMatchObject({ input: { env: { KEY: '[REDACTED:secret]' } } });
  });

  it('a reflecting upstream echoing headers in a plain answer leaks nothing', async () => {
    llm.fake.reflect = true;
    const answer = await raw('/v1/messages', ask);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('received_headers');
    expectNoFragment(answer.text);
  });

  it('count_tokens answers are scrubbed', async () => {
    llm.fake.reflect = true;
    const answer = await raw('/v1/messages/count_tokens', { model: 'claude-test', messages: ask.messages });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ input_tokens: 42 });
    expectNoFragment(answer.text);
  });

  it('error answers are scrubbed for more than the exact key (any secret, any encoding)', async () => {
    llm.fake.failWith = 400;
    const answer = await raw('/v1/messages', ask);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({ type: 'error' });
    expectNoFragment(answer.text);
  });
});
