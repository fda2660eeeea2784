/**
 * The upstream call (src/llm/upstream.ts): where a request goes is worked out
 * once from the configured base URL, and the connection to the API is kept
 * and reused from one request to the next.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cancelFor } from '../../src/llm/signals.js';
import { postUpstream, upstreamTarget } from '../../src/llm/upstream.js';

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
