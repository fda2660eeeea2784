import { describe, expect, it } from 'vitest';
import { SseReader } from './sse.js';
import {
  chargedInput,
  cost,
  EMPTY_USAGE,
  estimateInputTokens,
  IMAGE_TOKENS,
  mergeUsage,
  SseUsageTracker,
  TOOL_USE_PROMPT_TOKENS,
} from './usage.js';

/** The tool-use system prompt the API adds to a request with (client) tools. */
const toolPrompt = (body: Record<string, unknown>) =>
  Array.isArray(body.tools) && body.tools.length ? TOOL_USE_PROMPT_TOKENS : 0;

const enc = new TextEncoder();

/** A tracker fed through the proxy's SSE reader, as the proxy feeds it. */
function tracker() {
  const t = new SseUsageTracker();
  const reader = new SseReader();
  return {
    t,
    reader,
    push: (bytes: Uint8Array) => {
      for (const e of reader.push(bytes)) t.observe(JSON.parse(e.data));
    },
  };
}
const event = (type: string, data: Record<string, unknown>, eol = '\n') =>
  `event: ${type}${eol}data: ${JSON.stringify({ type, ...data })}${eol}${eol}`;
const start = event('message_start', {
  message: { usage: { input_tokens: 100, output_tokens: 1, cache_read_input_tokens: 50 } },
});
const delta = (text: string) =>
  event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
const usageDelta = (output: number) =>
  event('message_delta', { delta: {}, usage: { output_tokens: output } });

describe('SseUsageTracker', () => {
  it('takes the last cumulative message_delta as the output total', () => {
    const { t, push } = tracker();
    for (const part of [start, usageDelta(5), usageDelta(9), usageDelta(14), event('message_stop', {})])
      push(enc.encode(part));
    expect(t.charge(1000, 0)).toMatchObject({
      input_tokens: 100,
      output_tokens: 14,
      cache_read_input_tokens: 50,
    });
  });

  it('reads events split at any byte, CRLF halves included', () => {
    const whole = enc.encode([start, usageDelta(7)].map((e) => e.replaceAll('\n', '\r\n')).join(''));
    const { t, push, reader } = tracker();
    for (const byte of whole) push(Uint8Array.of(byte));
    expect(t.usage).toMatchObject({ input_tokens: 100, output_tokens: 7 });
    expect(reader.atBoundary).toBe(true);
  });

  it('charges a cut stream for the content it passed when no usage followed it', () => {
    const { t, push } = tracker();
    push(enc.encode(start + delta('x'.repeat(300))));
    expect(t.charge(1000, 0).output_tokens).toBe(100);
    expect(t.charge(40, 0).output_tokens).toBe(40);
  });

  it('remembers an error event and its type', () => {
    const { t, push } = tracker();
    push(enc.encode(event('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })));
    expect(t.errorType).toBe('overloaded_error');
  });

  it('is not at a boundary in the middle of an event', () => {
    const { push, reader } = tracker();
    push(enc.encode(start.slice(0, 20)));
    expect(reader.atBoundary).toBe(false);
  });
});

describe('charging', () => {
  it('weights cache reads and writes into the input count', () => {
    const usage = {
      input_tokens: 10,
      output_tokens: 0,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 8,
    };
    expect(chargedInput(usage, { cache_read_weight: 0.1, cache_write_weight: 1.25 })).toBe(30);
  });

  it('prices cache tokens from the input price when the policy gives no cache price', () => {
    const usage = {
      input_tokens: 1e6,
      output_tokens: 1e6,
      cache_read_input_tokens: 1e6,
      cache_creation_input_tokens: 1e6,
    };
    expect(cost(usage, { input: 3, output: 15 })).toBeCloseTo(3 + 15 + 0.3 + 3.75, 6);
  });

  it('estimates an image at its token ceiling, not by its base64 size', () => {
    const image = {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) },
    };
    const body = { messages: [{ role: 'user', content: [image, { type: 'text', text: 'what is this?' }] }] };
    const estimate = estimateInputTokens(body);
    expect(estimate).toBeGreaterThanOrEqual(IMAGE_TOKENS);
    expect(estimate).toBeLessThan(IMAGE_TOKENS + 200);
  });

  it('bounds input by the UTF-8 bytes of the request JSON, so dense scripts cannot beat it', () => {
    const body = { messages: [{ role: 'user', content: 'x'.repeat(3000) }] };
    expect(estimateInputTokens(body)).toBeGreaterThanOrEqual(3000);
    expect(estimateInputTokens(body)).toBeLessThan(3100);
    // One token per CJK character or emoji is about what real tokenizers count: 3 and 4 bytes each.
    const cjk = { messages: [{ role: 'user', content: '漢'.repeat(1000) }] };
    expect(estimateInputTokens(cjk)).toBeGreaterThanOrEqual(3000);
    const emoji = { messages: [{ role: 'user', content: '🔥'.repeat(1000) }] };
    expect(estimateInputTokens(emoji)).toBeGreaterThanOrEqual(4000);
  });

  it('bounds by the body as sent when it holds no image: never below the prompt re-serialised', () => {
    const sent = [
      '{"model":"m","max_tokens":5,"system":"s","messages":[{"role":"user","content":"plain"}],"tools":[]}',
      // Escapes JSON.stringify would not write, and whitespace: the sent size only grows.
      '{ "tools": [], "messages" : [ { "role" : "user", "content" : "\\u6f22\\u5b57 \\/ \\ud83d\\udd25" } ] ,\n  "system": "s" }',
      `{"system":"","messages":[{"role":"user","content":"${'漢'.repeat(500)}"}],"tools":[{"name":"t","input_schema":{}}]}`,
    ];
    for (const text of sent) {
      const body = JSON.parse(text) as Record<string, unknown>;
      const bytes = Buffer.byteLength(text);
      expect(estimateInputTokens(body, bytes)).toBe(bytes + toolPrompt(body));
      expect(bytes + toolPrompt(body)).toBeGreaterThanOrEqual(estimateInputTokens(body));
    }
  });

  it('keeps images at their ceiling when the body as sent is given (its base64 is not input)', () => {
    const image = {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(100_000) },
    };
    const body = { messages: [{ role: 'user', content: [image] }] };
    expect(estimateInputTokens(body, Buffer.byteLength(JSON.stringify(body)))).toBe(
      estimateInputTokens(body),
    );
  });

  it('counts exactly what leaving images out of the JSON gives, with images at any depth or none', () => {
    const reference = (body: Record<string, unknown>) => {
      let images = 0;
      const text = JSON.stringify(
        { system: body.system ?? '', messages: body.messages ?? [], tools: body.tools ?? [] },
        (_key, value: unknown) => {
          if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'image') {
            images++;
            return undefined;
          }
          return value;
        },
      );
      return Buffer.byteLength(text) + images * IMAGE_TOKENS + toolPrompt(body);
    };
    const image = {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(5000) },
    };
    const bodies: Record<string, unknown>[] = [
      { messages: [{ role: 'user', content: 'plain 漢字 🔥' }] },
      {
        system: [{ type: 'text', text: 'sys' }],
        messages: [{ role: 'user', content: [image, { type: 'text', text: 'x' }] }],
      },
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'a' }, image] },
            ],
          },
        ],
        tools: [{ name: 'n', input_schema: { type: 'object', properties: { p: { type: 'image' } } } }],
      },
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'no image', meta: { type: 'imaging' } }] },
        ],
      },
    ];
    for (const body of bodies) expect(estimateInputTokens(body)).toBe(reference(body));
  });
});

describe('mergeUsage: hour-long cache writes', () => {
  it('counts a cache write kept an hour at 2× input, not 1.25× (it was charged ~40% less than it cost)', () => {
    const usage = mergeUsage(EMPTY_USAGE, {
      input_tokens: 0,
      cache_creation_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1000 },
    });
    expect(usage.cache_creation_input_tokens).toBe(1600);
    expect(cost(usage, { input: 1, output: 1 })).toBeCloseTo(0.002, 9);
    const short = mergeUsage(EMPTY_USAGE, {
      cache_creation_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 0 },
    });
    expect(short.cache_creation_input_tokens).toBe(1000);
  });
});

describe('estimateInputTokens: tool prompts', () => {
  it('adds the tool-use prompt and each API-defined tool’s own prompt to the bytes', () => {
    const body = {
      messages: [{ role: 'user', content: 'fix it' }],
      tools: [
        { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
        { name: 'mine', input_schema: { type: 'object' } },
      ],
    };
    const bytes = Buffer.byteLength(JSON.stringify({ system: '', ...body }));
    // 346 + 700 tokens were charged for a definition of 60 bytes.
    expect(estimateInputTokens(body)).toBeGreaterThanOrEqual(bytes + 346 + 700);
  });
});
