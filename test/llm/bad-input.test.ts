/**
 * Bad input at the LLM door: a huge chunked body is refused at the limit
 * without being read in full, and JSON nested 100,000 deep gets a 400 in the
 * API's error shape (the real SDK raises it as a BadRequestError), while the
 * gateway keeps serving.
 */
import { request } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    budgets: { tokens: { output: 1000 } }
`;
const llm = useLlmGateway(PROFILES);

/** Streams up to `total` bytes without a length; resolves with the status and how much was written by then. */
function sendChunked(
  token: string,
  total: number,
): Promise<{ status: number; written: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${llm.gw.gateway.url}/v1/messages`);
    const req = request(url, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    let written = 0;
    let answered = false;
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, written, body });
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && written < total) {
        written += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    req.write('{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"');
    pump();
  });
}

describe('bad input at the LLM door', () => {
  it('stops reading a 100 MB chunked body at the limit and answers 413 in the API shape', async () => {
    const { token } = await llm.gw.gateway.runs.create('agent');
    const before = llm.fake.received.length;
    const result = await sendChunked(token, 100 * 1024 * 1024);
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    // The limit is 8 MB; socket buffers on both sides hold a few MB more at most.
    expect(result.written).toBeLessThan(40 * 1024 * 1024);
    expect(llm.fake.received.length).toBe(before);
  });

  it('answers JSON nested 100,000 deep with a 400 in the API shape, and keeps serving', async () => {
    const { token } = await llm.gw.gateway.runs.create('agent');
    const deep = `{"model":"claude-test","max_tokens":5,"messages":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const res = await fetch(`${llm.gw.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: deep,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const counted = await fetch(`${llm.gw.gateway.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: deep,
    });
    expect(counted.status).toBe(400);
    const client = new Anthropic({ apiKey: token, baseURL: llm.gw.gateway.url, maxRetries: 0 });
    const ok = await client.messages.create({
      model: 'claude-test',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'still there?' }],
    });
    expect(ok.type).toBe('message');
  });

  it('refuses non-finite numbers (1e400, -1e400) anywhere in the body, in the API shape, without charging', async () => {
    const { token, run } = await llm.gw.gateway.runs.create('agent');
    const before = llm.fake.received.length;
    const bodies = [
      '{"model":"claude-test","max_tokens":1e400,"messages":[{"role":"user","content":"hi"}]}',
      '{"model":"claude-test","max_tokens":5,"temperature":-1e400,"messages":[{"role":"user","content":"hi"}]}',
      `{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"metadata":{"n":${'9'.repeat(400)}}}`,
      '{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"hi","x":[1,2,1E+999]}]}]}',
    ];
    for (const body of bodies) {
      for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
        const res = await fetch(`${llm.gw.gateway.url}${path}`, {
          method: 'POST',
          headers: { 'x-api-key': token, 'content-type': 'application/json' },
          body,
        });
        expect(res.status, `${path} ${body.slice(0, 80)}`).toBe(400);
        expect(await res.json()).toMatchObject({
          type: 'error',
          error: { type: 'invalid_request_error', message: expect.stringContaining('finite') },
        });
      }
      const chat = await fetch(`${llm.gw.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      expect(chat.status).toBe(400);
    }
    expect(llm.fake.received.length).toBe(before);
    expect(await llm.gw.gateway.store.tokens.usage(run.id)).toMatchObject({ requests: 0, output: 0 });
    // Large finite numbers and exponents inside strings pass.
    const client = new Anthropic({ apiKey: token, baseURL: llm.gw.gateway.url, maxRetries: 0 });
    const ok = await client.messages.create({
      model: 'claude-test',
      max_tokens: 5,
      metadata: { user_id: '1e400' },
      messages: [{ role: 'user', content: 'numbers like 1e400 in text are fine' }],
      stop_sequences: ['1e-300'],
    });
    expect(ok.type).toBe('message');
  });
});
