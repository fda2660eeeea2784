/**
 * A call held for approval whose stream is cut (its gateway killed or
 * restarted) still gets an answer: the held stream starts with a priming
 * event naming the call, the client reconnects with it as `Last-Event-ID`,
 * and a gateway process that does not hold the call (the restarted one, on
 * the same store) answers it withdrawn, its approval open for an identical
 * retry, instead of leaving the agent to wait out its own limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldEventId, heldIdsOf } from '../../src/gateway/held-resume.js';
import {
  everythingUpstream,
  rawSession,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
tools:
  everything:
    echo: { class: irreversible, approval: { approvers: [approver], timeout: 10m } }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
profiles:
  agent:
    tools: [everything__echo]
`;
const ENV = { ALICE: 'bho_alice-held-resume-0001' };
const dir = tempDir('bulkhead-held-resume-');
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  a = await startTestGateway(POLICY, { dir, env: ENV });
  // Another process on the same store: what the agent meets after a restart (or on another replica).
  b = await startTestGateway(POLICY, { dir, env: ENV });
}, 60_000);
afterAll(async () => {
  await a?.close();
  await b?.close();
});

const headers = (token: string, sessionId: string) => ({
  authorization: `Bearer ${token}`,
  accept: 'application/json, text/event-stream',
  'content-type': 'application/json',
  'mcp-session-id': sessionId,
  'mcp-protocol-version': '2025-06-18',
});

/** Reads a stream until `done` says so (or 20 s pass), returning the text so far. */
async function readUntil(body: ReadableStream<Uint8Array>, done: (text: string) => boolean): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const until = Date.now() + 20_000;
  while (!done(text) && Date.now() < until) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel().catch(() => undefined);
  return text;
}

describe('a held call whose stream is cut', () => {
  it('starts its stream with a priming event naming the call, and a process that does not hold it answers it withdrawn', async () => {
    const { token } = await a.gateway.runs.create('agent');
    const sessionId = await rawSession(a.gateway.url, token);
    const call = {
      jsonrpc: '2.0',
      id: 'call-41',
      method: 'tools/call',
      params: { name: 'everything__echo', arguments: { message: 'x' } },
    };
    const held = await fetch(`${a.gateway.url}/mcp`, {
      method: 'POST',
      headers: headers(token, sessionId),
      body: JSON.stringify(call),
    });
    expect(held.headers.get('content-type')).toContain('text/event-stream');
    const start = await readUntil(held.body as ReadableStream<Uint8Array>, (t) => t.includes('\n\n'));
    const eventId = /^id: (\S+)$/m.exec(start)?.[1];
    expect(eventId).toBe(heldEventId(['call-41']));
    // The stream is gone (the client's side of a kill); the client reconnects on the other process.
    const resumed = await fetch(`${b.gateway.url}/mcp`, {
      method: 'GET',
      headers: { ...headers(token, sessionId), 'last-event-id': eventId as string },
    });
    expect(resumed.status).toBe(200);
    const text = await readUntil(resumed.body as ReadableStream<Uint8Array>, () => false);
    const data = /^data: (.+)$/m.exec(text)?.[1] ?? '';
    const message = JSON.parse(data) as {
      id: string;
      result: { isError: boolean; _meta: Record<string, { code: string }> };
    };
    expect(message.id).toBe('call-41');
    expect(message.result.isError).toBe(true);
    expect(message.result._meta['bulkhead/denial']?.code).toBe('approval_withdrawn');
    // The approval itself stays open for an identical retry.
    const pending = await a.gateway.store.approvals.list({ state: 'pending' });
    expect(pending.some((p) => (p.arguments as { message?: string }).message === 'x')).toBe(true);
  }, 60_000);

  it('answers nothing for a call the process still holds, nor for another run, nor a made-up event id', async () => {
    const { token } = await a.gateway.runs.create('agent');
    const sessionId = await rawSession(a.gateway.url, token);
    const call = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'everything__echo', arguments: { message: 'y' } },
    };
    const held = await fetch(`${a.gateway.url}/mcp`, {
      method: 'POST',
      headers: headers(token, sessionId),
      body: JSON.stringify(call),
    });
    await readUntil(held.body as ReadableStream<Uint8Array>, (t) => t.includes('\n\n'));
    // Still held here: not answered withdrawn (the SDK's own GET handling applies).
    const same = await fetch(`${a.gateway.url}/mcp`, {
      method: 'GET',
      headers: { ...headers(token, sessionId), 'last-event-id': heldEventId([7]) },
      signal: AbortSignal.timeout(2_000),
    });
    const sameText = await readUntil(same.body as ReadableStream<Uint8Array>, () => false).catch(() => '');
    expect(sameText).not.toContain('approval_withdrawn');
    // Another run's token with this session id: the session is not reopened for it.
    const other = await a.gateway.runs.create('agent');
    const foreign = await fetch(`${b.gateway.url}/mcp`, {
      method: 'GET',
      headers: { ...headers(other.token, sessionId), 'last-event-id': heldEventId([7]) },
    });
    expect(foreign.status).toBe(404);
  }, 60_000);

  it('reads only ids it made: anything else in Last-Event-ID is not a held stream', () => {
    expect(heldIdsOf(heldEventId([1, 'a']))).toEqual([1, 'a']);
    for (const value of [
      null,
      '',
      '42',
      'held-',
      'held-!!!',
      `held-${Buffer.from('{"id":1}').toString('base64url')}`,
      `held-${Buffer.from('[]').toString('base64url')}`,
      `held-${Buffer.from('[{"x":1}]').toString('base64url')}`,
      `held-${Buffer.from(JSON.stringify(Array.from({ length: 17 }, (_, i) => i))).toString('base64url')}`,
      `held-${Buffer.from(JSON.stringify(['x'.repeat(300)])).toString('base64url')}`,
      `held-${'A'.repeat(3_000)}`,
    ])
      expect(heldIdsOf(value), String(value)).toBeUndefined();
  });
});
