import { describe, expect, it } from 'vitest';
import { createScrubber, type Scrubber } from '../scrub/index.js';
import { answerScrubber } from './answer-scrubber.js';
import { anthropicDialect } from './anthropic-sse.js';
import { openaiDialect } from './openai.js';
import { ScrubbedSse } from './scrubbed-sse.js';

const KEY = 'sk-ant-real-key-for-tests-0123456789';

/** The real scrubber, with every string `text` is asked about counted. */
function counting(): { scrubber: Scrubber; asked: string[] } {
  const real = createScrubber({ secrets: [KEY] });
  const asked: string[] = [];
  return {
    scrubber: {
      ...real,
      text: (input) => {
        asked.push(input);
        return real.text(input);
      },
      value: (input) => real.value(input),
      stream: () => real.stream(),
    },
    asked,
  };
}

/** A `message_start` in its documented shape: only its id and model are free strings. */
const messageStart = (model: string, id = 'msg_01') => {
  const message = { id, type: 'message', role: 'assistant', model, content: [], usage: { input_tokens: 3 } };
  return `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n`;
};

const chunk = (id: string, model: string, content: string) =>
  `data: ${JSON.stringify({
    id,
    object: 'chat.completion.chunk',
    created: 1,
    model,
    choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
  })}\n\n`;

function through(sse: ScrubbedSse, text: string): string {
  return new TextDecoder().decode(sse.push(new TextEncoder().encode(text)));
}

describe('answerScrubber', () => {
  it('passes the model the request named, echoed in message_start, without scanning it', () => {
    const { scrubber, asked } = counting();
    const sse = new ScrubbedSse(anthropicDialect(answerScrubber(scrubber, ['claude-test'])), () => undefined);
    const out = through(sse, messageStart('claude-test'));
    expect(out).toContain('"model":"claude-test"');
    expect(asked).toEqual(['msg_01']);
  });

  it('still scrubs a model the request did not name', () => {
    const { scrubber } = counting();
    const sse = new ScrubbedSse(anthropicDialect(answerScrubber(scrubber, ['claude-test'])), () => undefined);
    const out = through(sse, messageStart(`claude ${KEY}`));
    expect(out).not.toContain(KEY);
    expect(out).toContain('[REDACTED');
  });

  it('scans a string the answer repeats once, and repeats its verdict, a redaction included', () => {
    const { scrubber, asked } = counting();
    const sse = new ScrubbedSse(openaiDialect(answerScrubber(scrubber, ['gpt-test'])), () => undefined);
    const text = [1, 2, 3].map((i) => chunk(`chatcmpl-${KEY}`, 'gpt-test-2025', `part ${i} `)).join('');
    const out = through(sse, text);
    expect(out).not.toContain(KEY);
    expect(out.match(/\[REDACTED/g)?.length).toBe(3);
    expect(asked.filter((s) => s === `chatcmpl-${KEY}`)).toHaveLength(1);
    expect(asked.filter((s) => s === 'gpt-test-2025')).toHaveLength(1);
  });

  it('scans a long string every time it comes', () => {
    const { scrubber, asked } = counting();
    const answer = answerScrubber(scrubber, []);
    const long = `x${'y'.repeat(300)}`;
    answer.text(long);
    answer.text(long);
    expect(asked).toEqual([long, long]);
  });
});
