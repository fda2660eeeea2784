/**
 * Input the API counts that the request's bytes do not hold: with tools, the Messages API adds
 * a tool-use system prompt (346 tokens), and each Anthropic-defined tool its own (the text
 * editor 700, computer use 735 and a ~500-token system prompt). A few bytes of tool definition
 * reserved at their bytes were charged ten times that, so requests sent at once together passed
 * an input cap each fitted alone.
 */
import { describe, expect, it } from 'vitest';
import { useScriptedGateway } from './scripted-api.js';

const PROFILES = `
  capped:
    budgets: { tokens: { input: 3000, cache_write_weight: 1 } }
  roomy:
    budgets: { tokens: { input: 12000, cache_write_weight: 1 } }
`;

const scripted = useScriptedGateway(PROFILES);

/** What the API charges a request with the text editor tool and a short message. */
const EDITOR_INPUT = 346 + 700 + 10;

function post(token: string, body: Record<string, unknown>) {
  return fetch(`${scripted.gw.gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': token, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });
}

describe('tool prompts the bytes do not hold', () => {
  it('keeps concurrent requests with an Anthropic-defined tool inside the input cap', async () => {
    scripted.api.answer = async (res, _body, path) => {
      const json = { 'content-type': 'application/json' };
      // count_tokens counts what the API would charge, hidden prompts included.
      if (path.endsWith('/count_tokens'))
        return void res.writeHead(200, json).end(JSON.stringify({ input_tokens: EDITOR_INPUT }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.writeHead(200, json).end(
        JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-test',
          content: [{ type: 'text', text: 'ok' }],
          stop_reason: 'end_turn',
          usage: { input_tokens: EDITOR_INPUT, output_tokens: 2 },
        }),
      );
    };
    const { run, token } = await scripted.gw.gateway.runs.create('capped');
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await post(token, {
          model: 'claude-test',
          max_tokens: 4,
          messages: [{ role: 'user', content: 'fix it' }],
          tools: [{ type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' }],
        });
        await res.text();
      }),
    );
    const used = (await scripted.gw.gateway.store.tokens.usage(run.id)).input;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(3000);
  });
});

describe('images the bytes do not bound on Chat Completions', () => {
  it('keeps concurrent requests with a small data-URL image inside the input cap', async () => {
    // A 1-bit PNG of 2,048 × 2,048 pixels deflates to a few hundred bytes; read as 2,500 tokens.
    const image = `data:image/png;base64,${'A'.repeat(200)}`;
    scripted.api.answer = async (res) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          model: 'claude-test',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 2_500, completion_tokens: 2, total_tokens: 2_502 },
        }),
      );
    };
    const { run, token } = await scripted.gw.gateway.runs.create('roomy');
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await fetch(`${scripted.gw.gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            model: 'claude-test',
            max_tokens: 4,
            messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }] }],
          }),
        });
        await res.text();
      }),
    );
    const used = (await scripted.gw.gateway.store.tokens.usage(run.id)).input;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(12000);
  });
});
