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
});
