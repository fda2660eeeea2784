/**
 * The CLI's plain-HTTP request (src/cli/client.ts `sendPlain`: one HTTP/1.1
 * exchange over node:net, in place of node:http for a local gateway) must
 * read every answer exactly as node:http reads it: the same status and the
 * same text, whatever the framing (Content-Length, chunked, to the
 * connection's end), the size or where the bytes are cut; and anything else
 * is an error, never a wrong answer.
 */
import { createServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient, parseAnswer, sendPlain } from '../../src/cli/client.js';

/** Answers by case number (the path): framing, status, body. */
function answer(n: number, res: import('node:http').ServerResponse): void {
  const statuses = [200, 201, 204, 400, 401, 404, 409, 500];
  const status = statuses[n % statuses.length] as number;
  const unit = n % 3 === 0 ? 'é€𝄞' : n % 3 === 1 ? 'x' : '{"a":[1,2,3]}';
  const body = unit.repeat([0, 1, 7, 1000, 70_000][n % 5] as number);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  if (status === 204) {
    res.end();
    return;
  }
  if (n % 2 === 0) {
    // Chunked: written in pieces with no length.
    const bytes = Buffer.from(body);
    const step = Math.max(1 + (n % 4) * 997, Math.ceil(bytes.length / 300));
    for (let at = 0; at < bytes.length; at += step) res.write(bytes.subarray(at, at + step));
    res.end();
  } else {
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  }
}

let server: Server;
let base: URL;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(Number(req.url?.slice(1)), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function viaNodeHttp(url: URL, payload: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: 'Bearer t' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.once('error', reject);
    req.end(payload);
  });
}

describe('the plain-HTTP request of the CLI', () => {
  it('reads the same status and text as node:http on 80 answers of every framing and size', async () => {
    for (let n = 0; n < 80; n++) {
      const url = new URL(`/${n}`, base);
      const payload = JSON.stringify({ n, text: 'é'.repeat(n) });
      const mine = await sendPlain(url, 'POST', 't', payload);
      expect(mine, `case ${n}`).toEqual(await viaNodeHttp(url, payload));
    }
  });

  it('parses an answer the same however its bytes are cut', async () => {
    const body = Buffer.from('é€𝄞'.repeat(50));
    const chunked = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
      Buffer.from(`${(100).toString(16)};ext=1\r\n`),
      body.subarray(0, 100),
      Buffer.from(`\r\n${(body.length - 100).toString(16)}\r\n`),
      body.subarray(100),
      Buffer.from('\r\n0\r\nX-Trailer: y\r\n\r\n'),
    ]);
    const sized = Buffer.concat([
      Buffer.from(`HTTP/1.1 201 Created\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]);
    for (const bytes of [chunked, sized]) {
      const whole = parseAnswer(bytes, false);
      expect(whole?.text).toBe(body.toString('utf8'));
      for (let cut = 0; cut < bytes.length; cut++) {
        // Every prefix is incomplete, never a wrong answer.
        expect(parseAnswer(bytes.subarray(0, cut), false)).toBeUndefined();
      }
    }
  });

  it('takes an answer with no length as ending with the connection', () => {
    expect(parseAnswer(Buffer.from('HTTP/1.1 200 OK\r\n\r\n{"a":1}'), false)).toBeUndefined();
    expect(parseAnswer(Buffer.from('HTTP/1.1 200 OK\r\n\r\n{"a":1}'), true)).toEqual({
      status: 200,
      text: '{"a":1}',
    });
  });

  it('refuses a malformed answer, and one cut short by the connection', () => {
    for (const bad of [
      'SSH-2.0-OpenSSH\r\n\r\n',
      'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n',
    ])
      expect(() => parseAnswer(Buffer.from(bad), true), bad).toThrow();
    for (const short of [
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n',
      'HTTP/1.1 200 OK\r\nContent-',
    ])
      expect(() => parseAnswer(Buffer.from(short), true), short).toThrow(/closed the connection/);
  });

  it('refuses a token that would add a header of its own, before connecting', async () => {
    await expect(sendPlain(new URL('/1', base), 'GET', 'a\r\nx-evil: 1', undefined)).rejects.toThrow(/token/);
  });

  it('ends the request when its signal aborts', async () => {
    // A server that never answers.
    const silent: TcpServer = createTcpServer((socket) => socket.resume());
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = new URL(`http://127.0.0.1:${(silent.address() as { port: number }).port}/x`);
    const stopper = new AbortController();
    const reason = new Error('stopped');
    const pending = sendPlain(url, 'GET', 't', undefined, stopper.signal);
    setTimeout(() => stopper.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it("turns the gateway's error answer into its error code through GatewayClient", async () => {
    const client = new GatewayClient({ gateway: base.href, token: 't' });
    // Case 5 answers 404 with a body that is not an error object: the status is the message.
    await expect(client.post('/5', {})).rejects.toMatchObject({ code: 'bad_request' });
    // Case 2 answers 204: no body, an empty answer.
    await expect(client.post('/2', {})).resolves.toEqual({});
  });
});
