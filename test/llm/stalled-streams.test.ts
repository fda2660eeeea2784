/**
 * An upstream that stops sending mid-stream, or never answers a streamed request, or dribbles
 * bytes that never make a whole event, held the run's reservation and the agent's connection
 * for as long as the run lived. With `stream_idle_s: 1` each is cut within a few seconds,
 * charged and recorded as `upstream_stalled`; a slow stream that keeps sending whole events is not.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load.js';
import { startTestGateway, type TestGateway } from '../helpers/harness.js';
import {
  llmPolicy,
  messageAnswer,
  postMessages,
  settledLlmEvent,
  sseEvent,
  withRealKey,
} from '../helpers/llm-harness.js';

type Behaviour = (res: ServerResponse) => void;

let behaviour: Behaviour = (res) => res.end();
let upstream: Server;
let gw: TestGateway;
/** Every upstream response still open, ended after each test so nothing outlives the suite. */
const open = new Set<ServerResponse>();

const START = sseEvent('message_start', {
  type: 'message_start',
  message: { ...messageAnswer('', { input_tokens: 5, output_tokens: 1 }), stop_reason: null },
});
const PING = sseEvent('ping', { type: 'ping' });
const END = [
  sseEvent('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 3 },
  }),
  sseEvent('message_stop', { type: 'message_stop' }),
].join('');

const sse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    req.resume();
    req.on('end', () => behaviour(res));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startTestGateway(
    llmPolicy(url, '  agent:\n    llm: { models: [claude-test] }', '  stream_idle_s: 1'),
    withRealKey,
  );
});

afterAll(async () => {
  for (const res of open) res.destroy();
  await gw?.close();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

/** One streamed request: what the agent received, how long it took, and the run. */
async function ask(): Promise<{ status: number; text: string; ms: number; runId: string }> {
  const { run, token } = await gw.gateway.runs.create('agent');
  const started = performance.now();
  const res = await postMessages(gw, token, { stream: true });
  const text = await res.text();
  for (const res of open) res.destroy();
  return { status: res.status, text, ms: performance.now() - started, runId: run.id };
}

const settledEvent = (runId: string) => settledLlmEvent(gw, runId);

describe('a streamed answer that stops arriving', () => {
  it('is cut after stream_idle_s with nothing after its start, the agent told the stream failed', async () => {
    behaviour = (res) => {
      sse(res);
      res.write(START);
    };
    const got = await ask();
    expect(got.ms).toBeLessThan(6_000);
    expect(got.text).toContain('message_start');
    expect(got.text).toContain('bulkhead: the LLM API stream failed.');
    expect((await settledEvent(got.runId))?.code).toBe('upstream_stalled');
  });

  it('is charged what it reported before it stalled, and the reservation is released', async () => {
    behaviour = (res) => {
      sse(res);
      res.write(START);
    };
    const got = await ask();
    const usage = await gw.gateway.store.tokens.usage(got.runId);
    expect(usage.input).toBe(5);
    expect(usage.output).toBeLessThan(20);
  });

  it('is cut when it dribbles bytes that never make a whole event', async () => {
    behaviour = (res) => {
      sse(res);
      res.write(START);
      const timer = setInterval(() => res.write('data: {"type":"content_block_delta","del'.slice(0, 1)), 200);
      res.on('close', () => clearInterval(timer));
    };
    const got = await ask();
    expect(got.ms).toBeLessThan(6_000);
    expect((await settledEvent(got.runId))?.code).toBe('upstream_stalled');
  });

  it('is refused with a 502 when the headers never come, charged what was reserved', async () => {
    behaviour = () => {};
    const got = await ask();
    expect(got.status).toBe(502);
    expect(got.text).toContain('sent nothing whole');
    expect((await settledEvent(got.runId))?.code).toBe('upstream_stalled');
    expect((await gw.gateway.store.tokens.usage(got.runId)).output).toBe(20);
  });
});

describe('a slow stream that keeps sending whole events', () => {
  it('is never cut, however long it runs past stream_idle_s', async () => {
    behaviour = (res) => {
      sse(res);
      res.write(START);
      let pings = 0;
      const timer = setInterval(() => {
        if (++pings < 6) res.write(PING);
        else {
          clearInterval(timer);
          res.end(END);
        }
      }, 400);
      res.on('close', () => clearInterval(timer));
    };
    const got = await ask();
    expect(got.ms).toBeGreaterThan(2_000);
    expect(got.text).toContain('message_stop');
    expect(got.text).not.toContain('bulkhead:');
    const settled = await settledEvent(got.runId);
    expect(settled).toBeDefined();
    // A request that ended well has no code.
    expect(settled?.code).toBeNull();
  });
});

describe('a plain answer', () => {
  it('may take longer than stream_idle_s: the limit is for streams', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    behaviour = (res) => {
      setTimeout(() => {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(messageAnswer('late', { input_tokens: 5, output_tokens: 1 })));
      }, 1_600);
    };
    const res = await postMessages(gw, token);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('late');
    const settled = await settledEvent(run.id);
    expect(settled).toBeDefined();
    expect(settled?.code).toBeNull();
  });
});

describe('the policy', () => {
  it('refuses a stream_idle_s of zero', () => {
    expect(() =>
      parsePolicy(
        llmPolicy('http://127.0.0.1:1', '  agent:\n    llm: { models: [x] }', '  stream_idle_s: 0'),
        'p.yaml',
      ),
    ).toThrow(/stream_idle_s/);
  });
});
