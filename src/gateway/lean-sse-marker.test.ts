import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { LONG_EVENT, useLeanSse } from './lean-sse.js';

// The reader's placeholder marker made known: twelve zero bytes where it asks for random ones.
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, randomBytes: (n: number) => Buffer.alloc(n) };
});

interface SseEntry {
  _handleSseStream(stream: ReadableStream<Uint8Array>, options: object, isReconnectable: boolean): void;
}

describe('the lean SSE reader and a stream holding its placeholder', () => {
  it('holds nothing aside and reads the stream as text when it holds the marker', async () => {
    const marker = `bulkhead-held-${'00'.repeat(12)}-`;
    const message = {
      jsonrpc: '2.0',
      id: 1,
      result: {
        content: [
          { type: 'text', text: `${marker}0` },
          { type: 'text', text: 'x'.repeat(LONG_EVENT) },
        ],
      },
    };
    const transport = new StreamableHTTPClientTransport(new URL('http://127.0.0.1:9/mcp'));
    let held = 0;
    useLeanSse(transport, {
      holdLong: () => {
        held++;
        return undefined;
      },
    });
    const messages: JSONRPCMessage[] = [];
    transport.onmessage = (m) => messages.push(m);
    const bytes = Buffer.from(`data: ${JSON.stringify(message)}\n\ndata: ${marker}1\n\n`);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    (transport as unknown as SseEntry)._handleSseStream(stream, {}, false);
    await vi.waitFor(() => expect(messages).toHaveLength(1));
    expect(messages).toEqual([message]);
    expect(held).toBe(0);
  });
});
