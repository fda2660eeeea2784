/**
 * Long requests through the LLM proxy: a conversation of hundreds of
 * kilobytes is read in chunks joined in a reused scratch buffer and sent
 * upstream from pooled buffers (src/llm/body.ts, outgoing-json.ts). The API
 * must receive exactly what the agent sent, and requests in flight at once,
 * from different runs, must never share or overwrite each other's memory.
 */
import { describe, expect, it } from 'vitest';
import { useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    budgets: { tokens: { output: 100000000 } }
`;
const llm = useLlmGateway(PROFILES);

const PIECES = ['plain words ', 'żółw 🐢 中文 ', '"quoted" \\ back\\slash ', 'tab\tnew\nline ', '€'];

/** A conversation of about `kb` KB whose every turn carries `tag`. */
function conversation(tag: string, kb: number, seed: number): Record<string, unknown> {
  const messages = [];
  let size = 0;
  for (let i = 0; size < kb * 1024; i++) {
    const text = `${tag} turn ${i}: ${Array.from({ length: 40 }, (_, k) => PIECES[(seed + i + k) % PIECES.length]).join('')}`;
    size += Buffer.byteLength(text) + 60;
    messages.push({ role: i % 2 ? 'assistant' : 'user', content: [{ type: 'text', text }] });
  }
  return { model: 'claude-test', max_tokens: 20, system: `${tag} system`, messages };
}

async function send(token: string, body: Record<string, unknown>): Promise<number> {
  const response = await fetch(`${llm.gw.gateway.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

/** What the API received for the request whose system prompt names `tag`. */
function receivedFor(tag: string): unknown {
  return llm.fake.received.find((r) => r.path === '/v1/messages' && r.body.system === `${tag} system`)?.body;
}

describe('LLM proxy: long requests', () => {
  it('sends a 300 KB conversation to the API exactly as the agent wrote it, multi-byte text included', async () => {
    const { token } = await llm.gw.gateway.runs.create('agent');
    const body = conversation('alone', 300, 1);
    expect(await send(token, body)).toBe(200);
    expect(receivedFor('alone')).toEqual(body);
  });

  it('sends eight long conversations from eight runs at once, each whole and only its own', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, () => llm.gw.gateway.runs.create('agent')));
    const bodies = runs.map((_, i) => conversation(`run${i}`, 80 + i * 40, i));
    const statuses = await Promise.all(
      runs.map((run, i) => send(run.token, bodies[i] as Record<string, unknown>)),
    );
    expect(statuses).toEqual(Array(8).fill(200));
    bodies.forEach((body, i) => {
      expect(receivedFor(`run${i}`), `run ${i}`).toEqual(body);
    });
  });

  it('sends a long conversation after a longer one as itself, not with the longer one’s leftover bytes', async () => {
    const { token } = await llm.gw.gateway.runs.create('agent');
    const longer = conversation('first', 400, 2);
    const shorter = conversation('second', 100, 3);
    expect(await send(token, longer)).toBe(200);
    expect(await send(token, shorter)).toBe(200);
    expect(receivedFor('second')).toEqual(shorter);
  });
});
