/**
 * The upstream call (src/llm/upstream.ts): where a request goes is worked out
 * once from the configured base URL, and the connection to the API is kept
 * and reused from one request to the next.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serialiseJson } from '../../src/llm/outgoing-json.js';
import { cancelFor } from '../../src/llm/signals.js';
import { postUpstream, type UpstreamTarget, upstreamTarget } from '../../src/llm/upstream.js';
import { pooledBuffers } from '../../src/util/buffer-pool.js';

interface Seen {
  url: string | undefined;
  authorization: string | undefined;
  body: string;
  socket: unknown;
}

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function api(): Promise<{ base: string; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ url: req.url, authorization: req.headers.authorization, body, socket: req.socket });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, seen, connections: () => connections };
}

async function post(to: Parameters<typeof postUpstream>[0], body: string): Promise<string> {
  const cancel = cancelFor([]);
  try {
    const answer = await postUpstream(to, { 'content-type': 'application/json' }, body, cancel);
    return await answer.text();
  } finally {
    cancel.dispose();
  }
}

describe('LLM upstream: where a request goes', () => {
  it('keeps the base URL path prefix and query in front of the API path', async () => {
    const { base, seen } = await api();
    await post(upstreamTarget(new URL(`${base}/proxy/anthropic/v1/messages?beta=true`)), '{}');
    expect(seen[0]?.url).toBe('/proxy/anthropic/v1/messages?beta=true');
  });

  it('sends credentials written in the base URL as basic authentication, as a URL request did', async () => {
    const { base, seen } = await api();
    const url = new URL(`${base}/v1/messages`);
    url.username = 'user';
    url.password = 'p@ss';
    await post(upstreamTarget(url), '{}');
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  });

  it('sends the body whole with its length, multi-byte characters included', async () => {
    const { base, seen } = await api();
    const body = JSON.stringify({ text: 'żółw 🐢 '.repeat(1000) });
    await post(upstreamTarget(new URL(`${base}/v1/messages`)), body);
    expect(seen[0]?.body).toBe(body);
  });

  it('sends pooled bytes whole with their length, and gives the memory back once written', async () => {
    const { base, seen } = await api();
    const value = { text: 'żółw 🐢 '.repeat(30_000) };
    const out = serialiseJson(value);
    let released = 0;
    const release = out.release;
    const cancel = cancelFor([]);
    const answer = await postUpstream(
      new URL(`${base}/v1/messages`),
      { 'content-type': 'application/json' },
      {
        bytes: out.bytes,
        release: () => {
          released++;
          release();
        },
      },
      cancel,
    );
    await answer.text();
    cancel.dispose();
    expect(seen[0]?.body).toBe(JSON.stringify(value));
    // Both 'finish' and 'close' give it back: the pool's own guard keeps it from counting twice.
    expect(released).toBeGreaterThanOrEqual(1);
  });

  it('gives pooled bytes back when the request was cancelled before it was sent', async () => {
    const out = serialiseJson({ text: 'q'.repeat(100_000) });
    const before = pooledBuffers();
    const killed = new AbortController();
    killed.abort(new Error('killed'));
    const cancel = cancelFor([killed.signal]);
    await expect(postUpstream(new URL('http://127.0.0.1:9/'), {}, out, cancel)).rejects.toThrow('killed');
    expect(pooledBuffers()).toBe(before + 1);
  });

  it('gives pooled bytes back when the API cannot be reached', async () => {
    const out = serialiseJson({ text: 'r'.repeat(100_000) });
    const before = pooledBuffers();
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const cancel = cancelFor([]);
    await expect(postUpstream(new URL(`http://127.0.0.1:${port}/`), {}, out, cancel)).rejects.toThrow();
    cancel.dispose();
    // The request closes a little after its error.
    for (let i = 0; i < 100 && pooledBuffers() === before; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pooledBuffers()).toBe(before + 1);
  });

  it('takes a URL as well as a target', async () => {
    const { base, seen } = await api();
    await post(new URL(`${base}/v1/messages`), '{"a":1}');
    expect(seen[0]).toMatchObject({ url: '/v1/messages', body: '{"a":1}' });
  });
});

describe('LLM upstream: the connection to the API', () => {
  it('is reused by the next request instead of a new one being opened', async () => {
    const { base, seen, connections } = await api();
    const target = upstreamTarget(new URL(`${base}/v1/messages`));
    for (let i = 0; i < 5; i++) expect(await post(target, '{}')).toBe('{"ok":true}');
    expect(seen).toHaveLength(5);
    expect(connections()).toBe(1);
    expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
  });
});

/** A server that records each request's head as it came off the wire, and answers every one. */
async function rawApi(): Promise<{ base: string; heads: string[]; close(): Promise<void> }> {
  const heads: string[] = [];
  const raw = createNetServer((socket) => {
    let buffered = '';
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        heads.push(head);
        buffered = buffered.slice(end + 4 + length);
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', () => resolve()));
  const { port } = raw.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    heads,
    close: () => new Promise<void>((resolve) => raw.close(() => resolve())),
  };
}

/** The request as node built it from a header record, before `headerLines`. */
function sentAsRecord(target: UpstreamTarget, headers: Record<string, string>, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      ...target.options,
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve());
    });
    req.end(body);
  });
}

describe('LLM upstream: the request head', () => {
  it('is byte for byte what node wrote from a header record, on 300 generated header sets', async () => {
    const api = await rawApi();
    try {
      const names = ['x-api-key', 'X-Api-Key', 'content-type', 'Content-Length', 'content-length', 'accept'];
      names.push('anthropic-version', 'anthropic-beta', 'authorization', 'Authorization', 'host', 'HOST');
      const bases = [api.base, `${api.base}/proxy?x=1`, api.base.replace('//', '//user:p%40ss@')];
      const values = ['', 'a', 'application/json', 'Bearer sk-1', '2023-06-01', 'x'.repeat(300), 'ü é'];
      for (let i = 0; i < 300; i++) {
        const target = upstreamTarget(new URL(`${bases[i % bases.length]}/v1/messages`));
        const headers: Record<string, string> = {};
        for (let k = 0; k < (i % 7) + 1; k++) {
          const name = names[(i * 31 + k * 17) % names.length] as string;
          headers[name] = values[(i * 13 + k * 5) % values.length] as string;
        }
        const body = JSON.stringify({ i, text: 'żółw'.repeat(i % 5) });
        await sentAsRecord(target, headers, body);
        const cancel = cancelFor([]);
        await (await postUpstream(target, headers, body, cancel)).text();
        cancel.dispose();
        expect(api.heads[2 * i + 1], JSON.stringify(headers)).toBe(api.heads[2 * i]);
      }
    } finally {
      await api.close();
    }
  });

  it('names the host as node does: IPv6 in brackets, a port only when it is not the default', () => {
    for (const url of [
      'http://[::1]:8080/v1/messages',
      'http://[::1]/v1/messages',
      'https://[2001:db8::1]:443/v1/messages',
      'http://api.test:80/v1/messages',
      'https://api.test:8443/v1/messages',
      'https://api.test/v1/messages',
      'http://127.0.0.1:9/v1/messages',
      'http://u:p@api.test/v1/messages',
    ]) {
      const target = upstreamTarget(new URL(url));
      const req = (target.https ? httpsRequest : httpRequest)({
        ...target.options,
        agent: false,
        headers: {},
      });
      req.on('error', () => undefined);
      expect(target.host, url).toBe(req.getHeader('host'));
      expect(target.basic, url).toBe(req.getHeader('authorization'));
      req.destroy();
    }
  });
});

describe('LLM upstream: an answer whose first bytes came with its head', () => {
  /** An API that writes its head and `first` in one packet, then each of `later` on its own. */
  async function packetApi(first: string, later: string[], length?: number): Promise<string> {
    const raw = createNetServer((socket) => {
      socket.once('data', () => {
        const framing = length === undefined ? 'connection: close' : `content-length: ${length}`;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n${framing}\r\n\r\n${first}`);
        let i = 0;
        const next = () => {
          if (i < later.length) {
            socket.write(later[i++] as string);
            setTimeout(next, 10);
          } else if (length === undefined) socket.end();
        };
        setTimeout(next, 10);
      });
    });
    server = raw as unknown as Server;
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(raw.address() as AddressInfo).port}/v1/messages`;
  }

  async function readThrough(url: string): Promise<{ tapped: string; read: string; ends: number }> {
    const cancel = cancelFor([]);
    const answer = await postUpstream(new URL(url), {}, '{}', cancel);
    let tapped = '';
    let ends = 0;
    const stream = answer.stream({
      chunk: (bytes) => {
        tapped += Buffer.from(bytes).toString();
        return bytes;
      },
      end: async () => {
        ends++;
        return undefined;
      },
      cut: async () => undefined,
      cancelled: async () => undefined,
    });
    let read = '';
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read())
      read += Buffer.from(r.value).toString();
    cancel.dispose();
    return { tapped, read, ends };
  }

  it('passes the bytes that came with the head, then the rest, in order, and ends once', async () => {
    const pieces = ['event: a\ndata: {}\n\n', 'event: b\ndata: {}\n\n', 'event: c\ndata: {}\n\n'];
    const got = await readThrough(await packetApi(pieces[0] as string, pieces.slice(1)));
    expect(got).toEqual({ tapped: pieces.join(''), read: pieces.join(''), ends: 1 });
  });

  it('ends once when the whole answer came with its head', async () => {
    const whole = 'event: a\ndata: {}\n\nevent: b\ndata: {}\n\n';
    const got = await readThrough(await packetApi(whole, [], Buffer.byteLength(whole)));
    expect(got).toEqual({ tapped: whole, read: whole, ends: 1 });
  });
});
