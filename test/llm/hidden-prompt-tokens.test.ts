/**
 * Input the API counts that the request's bytes do not hold: with tools, the Messages API adds
 * a tool-use system prompt (346 tokens), and each Anthropic-defined tool its own (the text
 * editor 700, computer use 735 and a ~500-token system prompt). A few bytes of tool definition
 * reserved at their bytes were charged ten times that, so requests sent at once together passed
 * an input cap each fitted alone.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { messageAnswer } from '../helpers/llm-harness.js';
import { chatCompletion, useScriptedGateway } from './scripted-api.js';

const PROFILES = `
  capped:
    budgets: { tokens: { input: 3000, cache_write_weight: 1 } }
  roomy:
    budgets: { tokens: { input: 12000, cache_write_weight: 1 } }
  searching:
    llm: { server_tools: [web_search] }
    budgets: { tokens: { input: 120000, cache_write_weight: 1 } }
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

/** Answers `value` as JSON after 50 ms, so the requests sent at once are all in flight together. */
async function slowJson(res: ServerResponse, value: unknown) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/** A Messages answer reporting `usage` as given. */
const message = (usage: Record<string, unknown>) => ({ ...messageAnswer('ok'), usage });

/** The input tokens charged to a new run of `profile` once `n` requests sent at once by `send` ended. */
async function inputUsed(profile: string, n: number, send: (token: string) => Promise<Response>) {
  const { run, token } = await scripted.gw.gateway.runs.create(profile);
  await Promise.all(Array.from({ length: n }, async () => (await send(token)).text()));
  return (await scripted.gw.gateway.store.tokens.usage(run.id)).input;
}

describe('tool prompts the bytes do not hold', () => {
  it('keeps concurrent requests with an Anthropic-defined tool inside the input cap', async () => {
    scripted.api.answer = async (res, _body, path) => {
      const json = { 'content-type': 'application/json' };
      // count_tokens counts what the API would charge, hidden prompts included.
      if (path.endsWith('/count_tokens'))
        return void res.writeHead(200, json).end(JSON.stringify({ input_tokens: EDITOR_INPUT }));
      await slowJson(res, message({ input_tokens: EDITOR_INPUT, output_tokens: 2 }));
    };
    const used = await inputUsed('capped', 8, (token) =>
      post(token, {
        model: 'claude-test',
        max_tokens: 4,
        messages: [{ role: 'user', content: 'fix it' }],
        tools: [{ type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' }],
      }),
    );
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(3000);
  });
});

describe('images the bytes do not bound on Chat Completions', () => {
  it('keeps concurrent requests with a small data-URL image inside the input cap', async () => {
    // A 1-bit PNG of 2,048 × 2,048 pixels deflates to a few hundred bytes; read as 2,500 tokens.
    const image = `data:image/png;base64,${'A'.repeat(200)}`;
    scripted.api.answer = (res) =>
      slowJson(res, chatCompletion({ prompt_tokens: 2_500, completion_tokens: 2 }));
    const used = await inputUsed('roomy', 6, (token) =>
      fetch(`${scripted.gw.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          model: 'claude-test',
          max_tokens: 4,
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }] }],
        }),
      }),
    );
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(12000);
  });
});

describe('server tool iterations', () => {
  it('keeps concurrent searching requests inside the input cap, each search reading the prompt again', async () => {
    const prompt = 'x'.repeat(10_000);
    // Each search is one more sampling over the whole prompt: 3 searches, 4 readings (and the
    // results read after each, 60,000 tokens at most: fetched-content.test.ts), 100,000 reserved.
    scripted.api.answer = (res) =>
      slowJson(
        res,
        message({ input_tokens: 4 * 10_000, output_tokens: 2, server_tool_use: { web_search_requests: 3 } }),
      );
    const used = await inputUsed('searching', 6, (token) =>
      post(token, {
        model: 'claude-test',
        max_tokens: 4,
        messages: [{ role: 'user', content: prompt }],
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
      }),
    );
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(120_000);
  });
});
