/**
 * The proxy remembers which run a run token names, so the token is not looked
 * up on every request; the run itself is still read for every request (on
 * SQLite inside the reservation's transaction). Tried as the ways a run ends
 * while its token is remembered: a kill through this gateway, a kill written
 * by another process to the same SQLite file (also while the request's body
 * arrives), expiry; and as tokens that must never ride on a remembered one.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashToken, hashTokenStreamed, RUN_TOKEN_PREFIX } from '../../src/runs/tokens.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { REAL_KEY, useLlmGateway } from '../helpers/llm-harness.js';

const llm = useLlmGateway(`
  agent:
    budgets: { tokens: { output: 100000 } }
`);

async function ask(token: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${llm.gw.gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'claude-test',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  return { status: res.status, text: await res.text() };
}

describe('LLM proxy: a remembered run token', () => {
  it('is refused on the very next request after a kill', async () => {
    const { run, token } = await llm.gw.gateway.runs.create('agent');
    expect((await ask(token)).status).toBe(200);
    expect((await ask(token)).status).toBe(200);
    await llm.gw.gateway.runs.end(run.id, 'killed', 'test');
    const after = await ask(token);
    expect(after.status).toBe(403);
    expect(after.text).toContain('this run has ended');
  });

  it('is refused on the very next request after another process ended the run in the same store', async () => {
    const { run, token } = await llm.gw.gateway.runs.create('agent');
    expect((await ask(token)).status).toBe(200);
    const other = openSqliteStore(join(llm.gw.dir, 'bulkhead.db'));
    try {
      expect(await other.runs.end(run.id, 'killed', 'killed elsewhere', null)).toBeDefined();
    } finally {
      await other.close();
    }
    const after = await ask(token);
    expect(after.status).toBe(403);
    expect(after.text).toContain('this run has ended');
  });

  it('is refused, and nothing sent, when another process ends the run while the body arrives', async () => {
    // On SQLite the run is not read before the reservation: the reservation's transaction finds
    // the run changed since it was remembered, and the run is read again before anything is sent.
    const { run, token } = await llm.gw.gateway.runs.create('agent');
    expect((await ask(token)).status).toBe(200);
    expect((await ask(token)).status).toBe(200);
    // Remembered, so this request's run is first read inside its reservation.
    expect(llm.gw.gateway.store.rememberedRun?.(run.id)?.state).toBe('active');
    const sent = llm.fake.received.length;
    const body = JSON.stringify({
      model: 'claude-test',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        `${llm.gw.gateway.url}/v1/messages`,
        {
          method: 'POST',
          headers: {
            'x-api-key': token,
            'content-type': 'application/json',
            'anthropic-version': '2023-06-01',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.once('error', reject);
      req.flushHeaders();
      // The head is in; the gateway waits for the body while another process kills the run.
      setTimeout(async () => {
        const other = openSqliteStore(join(llm.gw.dir, 'bulkhead.db'));
        try {
          await other.runs.end(run.id, 'killed', 'killed elsewhere', null);
        } finally {
          await other.close();
        }
        req.end(body);
      }, 100);
    });
    const after = await answer;
    expect(after.status).toBe(403);
    expect(after.text).toContain('this run has ended');
    expect(llm.fake.received.length).toBe(sent);
  });

  it('is refused once the run expired', async () => {
    // Generous: a loaded machine must still make the first request before expiry.
    const { run, token } = await llm.gw.gateway.runs.create('agent', { ttlMs: 3000 });
    expect((await ask(token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, run.expiresAt - Date.now()) + 100));
    expect((await ask(token)).status).toBe(403);
  });

  it('lets no other token through: a near miss, another run’s token with a suffix, the real key', async () => {
    const { token } = await llm.gw.gateway.runs.create('agent');
    expect((await ask(token)).status).toBe(200);
    for (const wrong of [`${token.slice(0, -1)}x`, `${token}x`, token.slice(0, -1), REAL_KEY, 'bhr_']) {
      expect((await ask(wrong)).status).toBe(401);
    }
    expect((await ask(token)).status).toBe(200);
  });
});

describe('the token hash', () => {
  it('equals the streamed SHA-256 on run tokens, other strings, any UTF-16 (lone surrogates too)', () => {
    const tokens = ['', RUN_TOKEN_PREFIX, 'ü', '\u{1F600}', '\uD800', 'a\uDC00b', 'x'.repeat(10_000)];
    for (let i = 0; i < 500; i++) {
      tokens.push(`${RUN_TOKEN_PREFIX}${randomBytes(i % 48).toString('base64url')}`);
      const units = Array.from({ length: i % 40 }, (_, k) => (i * 7919 + k * 104_729) % 0x10000);
      tokens.push(String.fromCharCode(...units));
    }
    for (const token of tokens) expect(hashToken(token)).toBe(hashTokenStreamed(token));
  });
});
