import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { useLeanSse } from './lean-sse.js';

/** Every text the lean reader feeds its SSE parser. */
const fed = vi.hoisted(() => [] as string[]);
vi.mock('eventsource-parser', async (importOriginal) => {
  const real = await importOriginal<typeof import('eventsource-parser')>();
  return {
    ...real,
    createParser: (config: Parameters<typeof real.createParser>[0]) => {
      const parser = real.createParser(config);
      return {
        ...parser,
        feed(chunk: string) {
          fed.push(chunk);
          parser.feed(chunk);
        },
      };
    },
  };
});

/** The SDK transport's SSE entry point that useLeanSse replaces. */
interface SseEntry {
  _handleSseStream(stream: ReadableStream<Uint8Array>, options: object, isReconnectable: boolean): void;
}

describe('the lean SSE reader and its parser', () => {
  it("feeds the parser whole lines only, so a long event's text is never kept in part and joined again", async () => {
    const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
    useLeanSse(transport);
    const messages: JSONRPCMessage[] = [];
    transport.onmessage = (m) => messages.push(m);
    const long = {
      jsonrpc: '2.0',
      id: 1,
      result: { content: [{ type: 'text', text: 'token='.repeat(200_000) }] },
    };
    const bytes = new TextEncoder().encode(
      `event: message\ndata: ${JSON.stringify(long)}\n\nevent: message\ndata: {"jsonrpc":"2.0","id":2,"result":{}}\n\n`,
    );
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        // In 64 KB pieces, as a socket gives them: the first ends inside the long event's data line.
        for (let at = 0; at < bytes.length; at += 65_536) controller.enqueue(bytes.subarray(at, at + 65_536));
        controller.close();
      },
    });
    fed.length = 0;
    (transport as unknown as SseEntry)._handleSseStream(stream, {}, false);
    for (let i = 0; i < 100 && messages.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(messages).toEqual([long, { jsonrpc: '2.0', id: 2, result: {} }]);
    expect(fed.every((text) => text.endsWith('\n'))).toBe(true);
    // The long line reached the parser in one text.
    expect(fed.filter((text) => text.includes('token=')).length).toBe(1);
  });
});
