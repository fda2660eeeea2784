/**
 * The text-free events of a Messages stream (message_start, message_delta,
 * ping, the stops) skip the per-key scrub when they have their documented
 * shape. Tried as a hostile upstream would to make that shortcut pass
 * something unscrubbed: the key in every free string, in a key of its own, in
 * a name field where a documented name belongs, in a duplicate key the parser
 * drops, in a nested object, JSON-escaped; and the shortcut must give exactly
 * what the full scrub gives for what it accepts.
 */
import { describe, expect, it } from 'vitest';
import { anthropicDialect } from '../../src/llm/anthropic-sse.js';
import { scrubKnownChunk, scrubKnownEvent } from '../../src/llm/event-shapes.js';
import { ScrubbedSse } from '../../src/llm/scrubbed-sse.js';
import { createScrubber } from '../../src/scrub/index.js';

const KEY = 'sk-ant-real-key-for-tests-0123456789';
const scrubber = createScrubber({ secrets: [KEY] });

const usage = {
  input_tokens: 25,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 10,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  output_tokens: 1,
  service_tier: 'standard',
};
const messageStart = (message: Record<string, unknown> = {}) => ({
  type: 'message_start',
  message: {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-test',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage,
    ...message,
  },
});

/** What the agent receives for raw SSE data lines, all events framed and scrubbed. */
function through(...events: Array<[string, string]>): string {
  const sse = new ScrubbedSse(anthropicDialect(scrubber), () => undefined);
  const bytes = new TextEncoder().encode(events.map(([e, d]) => `event: ${e}\ndata: ${d}\n\n`).join(''));
  return new TextDecoder().decode(sse.push(bytes)) + new TextDecoder().decode(sse.end());
}

describe('text-free Messages events in their documented shape', () => {
  it('are rebuilt exactly as the full scrub would give them', () => {
    const events = [
      messageStart(),
      { type: 'ping' },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: 12 },
      },
      { type: 'message_stop' },
    ];
    for (const event of events) expect(scrubKnownEvent(event, scrubber)).toEqual(scrubber.value(event));
  });

  it('scrub the key in every free string: id, model, stop sequence', () => {
    for (const event of [
      messageStart({ id: `msg_${KEY}` }),
      messageStart({ model: `claude ${KEY}` }),
      messageStart({ stop_sequence: KEY }),
      {
        type: 'message_delta',
        delta: { stop_reason: 'stop_sequence', stop_sequence: `x${KEY}` },
        usage: { output_tokens: 3 },
      },
    ]) {
      const out = JSON.stringify(scrubKnownEvent(event, scrubber));
      expect(out).not.toContain(KEY);
      expect(out).toContain('[REDACTED');
    }
  });

  it('leave anything outside the documented shape to the full scrub', () => {
    for (const event of [
      // The key as a key, at every level.
      { ...messageStart(), [KEY]: 1 },
      messageStart({ [KEY]: 1 }),
      messageStart({ usage: { ...usage, [KEY]: 1 } }),
      messageStart({ usage: { ...usage, cache_creation: { [KEY]: 1 } } }),
      // The key where a documented name belongs.
      messageStart({ role: KEY }),
      messageStart({ stop_reason: KEY }),
      messageStart({ usage: { ...usage, service_tier: KEY } }),
      { type: 'message_delta', delta: { stop_reason: KEY, stop_sequence: null }, usage: {} },
      // A string where a number belongs, content that is not empty, a reflected header dump.
      messageStart({ usage: { ...usage, input_tokens: KEY } }),
      messageStart({ content: [{ type: 'text', text: KEY }] }),
      messageStart({ debug: { received_headers: { 'x-api-key': KEY } } }),
      { type: 'ping', note: KEY },
    ]) {
      expect(scrubKnownEvent(event as Record<string, unknown>, scrubber)).toBeUndefined();
      const sent = through([(event as { type: string }).type, JSON.stringify(event)]);
      expect(sent).not.toContain(KEY);
      expect(sent).toContain('[REDACTED');
    }
  });

  it('never send a duplicate key the parser dropped, nor a JSON-escaped key', () => {
    const escaped = JSON.stringify(KEY).slice(1, -1).replace(/k/g, '\\u006b');
    const sent = through(
      [
        'message_start',
        `{"type":"message_start","message":{"id":"${KEY}","id":"msg_01","type":"message","role":"assistant","model":"claude-test","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}}`,
      ],
      [
        'message_start',
        `{"type":"message_start","message":{"id":"${escaped}","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1}}}`,
      ],
    );
    expect(sent).not.toContain(KEY);
    expect(sent).not.toContain(escaped);
    expect(sent).toContain('"id":"msg_01"');
  });

  it('pass a text block start through its stream scrubber, so a key split with the next delta is caught', () => {
    const sent = through(
      [
        'content_block_start',
        JSON.stringify({
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: KEY.slice(0, 12) },
        }),
      ],
      [
        'content_block_delta',
        JSON.stringify({
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: KEY.slice(12) },
        }),
      ],
      ['content_block_stop', JSON.stringify({ type: 'content_block_stop', index: 0 })],
      ['message_stop', JSON.stringify({ type: 'message_stop' })],
    );
    for (let i = 0; i + 8 <= KEY.length; i++) expect(sent).not.toContain(KEY.slice(i, i + 8));
    expect(sent).toContain('[REDACTED');
  });
});

describe('Chat Completions chunks in their documented shape', () => {
  const chunk = (extra: Record<string, unknown> = {}, choice: Record<string, unknown> = {}) => ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-test',
    system_fingerprint: 'fp_1',
    choices: [
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null, ...choice },
    ],
    ...extra,
  });

  it('are rebuilt exactly as the full scrub would give them', () => {
    for (const c of [
      chunk(),
      chunk({}, { delta: {}, finish_reason: 'stop' }),
      chunk({
        choices: [],
        usage: {
          prompt_tokens: 3,
          completion_tokens: 5,
          total_tokens: 8,
          prompt_tokens_details: { cached_tokens: 0 },
        },
      }),
    ])
      expect(scrubKnownChunk(c, scrubber)).toEqual(scrubber.value(c));
  });

  it('scrub the key in the id, the model and the fingerprint', () => {
    for (const c of [chunk({ id: KEY }), chunk({ model: `m ${KEY}` }), chunk({ system_fingerprint: KEY })]) {
      const out = JSON.stringify(scrubKnownChunk(c, scrubber));
      expect(out).not.toContain(KEY);
      expect(out).toContain('[REDACTED');
    }
  });

  it('leave anything outside the documented shape to the full scrub', () => {
    for (const c of [
      chunk({ [KEY]: 1 }),
      chunk({}, { [KEY]: 1 }),
      chunk({}, { delta: { role: KEY } }),
      chunk({}, { finish_reason: KEY }),
      chunk({}, { logprobs: { content: [{ token: KEY }] } }),
      chunk({}, { delta: { tool_calls: [{ index: 0, function: { name: KEY, arguments: '' } }] } }),
      chunk({ usage: { prompt_tokens: KEY } }),
      chunk({ service_tier: KEY }),
    ])
      expect(scrubKnownChunk(c as Record<string, unknown>, scrubber)).toBeUndefined();
  });
});
