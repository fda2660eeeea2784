/**
 * A call's `callerGone` signal is made only when the call is held (held-answer.ts): the HTTP
 * server adapter makes a request's signal on first read. A caller that left before that read
 * must still be seen as gone, or a held call would wait for a person nobody is waiting for.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { HeldAnswer } from '../../src/gateway/held-answer.js';

/** The platform's Response, kept before the agent-facing server puts its lightweight one in its place. */
const PlatformResponse = globalThis.Response;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

describe('a held answer', () => {
  it('sees a caller that left before its call was held as gone, and one still there as not', async () => {
    const answers: HeldAnswer[] = [];
    const release: (() => void)[] = [];
    const server = createServer(
      getRequestListener(async (request) => {
        answers.push(new HeldAnswer(request, () => undefined));
        // The answer is not ready until the test says so: the caller may leave meanwhile.
        await new Promise<void>((resolve) => release.push(resolve));
        return new Response('{}', { headers: { 'content-type': 'application/json' } });
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as AddressInfo).port;
    const send = () => {
      const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/mcp' });
      req.on('error', () => undefined);
      req.end('{}');
      return req;
    };
    const waitFor = async (n: number) => {
      while (answers.length < n) await new Promise((r) => setTimeout(r, 5));
    };

    const leaving = send();
    await waitFor(1);
    leaving.destroy();
    // The server has seen the close before anything read the signal.
    await new Promise((r) => setTimeout(r, 100));
    const staying = send();
    await waitFor(2);
    const [left, there] = answers as [HeldAnswer, HeldAnswer];
    expect(left.gone.aborted).toBe(true);
    expect(there.gone.aborted).toBe(false);
    // Read once, it is the same signal every time, and it still hears a later close.
    const signal = there.gone;
    expect(there.gone).toBe(signal);
    const aborted = once(signal, 'abort');
    staying.destroy();
    await aborted;
    expect(there.gone.aborted).toBe(true);
    for (const r of release) r();
  });

  describe.each([
    [
      'the server keeps the body as a string',
      () => {
        // The agent-facing server's own Response (what the SDK makes once the server is up).
        getRequestListener(() => new Response(''));
        return globalThis.Response;
      },
    ],
    ['a platform Response', () => PlatformResponse],
  ])('with long strings put aside (%s)', (_, responseClass) => {
    const text = 'y'.repeat(300_000);
    const result = {
      content: [
        { type: 'text', text },
        { type: 'text', text: 'short' },
      ],
    };
    const expected = JSON.stringify({ result, jsonrpc: '2.0', id: 1 });

    /** The HeldAnswer of a request the SDK answers in plain JSON (not `stream_responses`). */
    const plainJsonAnswer = () =>
      new HeldAnswer(new Request('http://gateway/mcp', { method: 'POST' }), () => 's1', undefined, true);

    /** The answer as the SDK makes it from what the handler returned. */
    const sdkAnswer = (put: unknown) =>
      new (responseClass())(JSON.stringify({ result: put, jsonrpc: '2.0', id: 1 }), {
        headers: { 'content-type': 'application/json' },
      });

    it('answers in plain JSON with every string filled back in', async () => {
      const held = plainJsonAnswer();
      const put = held.putAside(result);
      expect(JSON.stringify(put).length).toBeLessThan(500);
      const response = await held.answer(Promise.resolve(sdkAnswer(put)));
      expect(await response.text()).toBe(expected);
      expect(response.headers.get('content-type')).toBe('application/json');
    });

    it('answers on the stream a held call made, with every string filled back in', async () => {
      const held = plainJsonAnswer();
      let ready: (response: Response) => void = () => undefined;
      const answered = held.answer(
        new Promise<Response>((resolve) => {
          ready = resolve;
        }),
      );
      held.track(1);
      held.hold();
      ready(sdkAnswer(held.putAside(result)));
      const stream = await (await answered).text();
      expect(stream).toContain(`event: message\ndata: ${expected}\n\n`);
      expect(stream).not.toContain('BULKHEADASIDE');
    });
  });

  it('puts nothing aside for an answer the SDK streams itself (stream_responses)', () => {
    const held = new HeldAnswer(new Request('http://gateway/mcp', { method: 'POST' }), () => 's1');
    const result = { content: [{ type: 'text', text: 'y'.repeat(300_000) }] };
    expect(held.putAside(result)).toBe(result);
  });
});
