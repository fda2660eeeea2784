/**
 * The SDK's Streamable HTTP client reads every SSE answer through a pipeline
 * of two web TransformStreams built per request (`TextDecoderStream`, then
 * `EventSourceParserStream`), each chunk and event passing through their
 * promise machinery, and a thrown-and-caught error when the decoder ends. On
 * an HTTP upstream, where every `tools/call` answer is such a stream, that was
 * a measurable share of the gateway's CPU per call (bench/README.md, gateway,
 * third round). This reads the same stream with one reader, a streaming
 * `TextDecoder` and the same SSE parser (eventsource-parser's `createParser`,
 * which `EventSourceParserStream` wraps), and does with each event exactly
 * what the SDK does: resumption tokens, priming events, `retry`, message
 * validation with the SDK's own schema, and the same reconnection rule.
 *
 * The SDK offers no option for it; the method is replaced on the instance,
 * and if the SDK's internals change, connecting fails loudly here instead of
 * silently reading streams some other way.
 */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

interface StreamOptions {
  onresumptiontoken?: (token: string) => void;
  replayMessageId?: string | number;
}

interface ReconnectOptions extends StreamOptions {
  resumptionToken?: string;
}

/** The SDK transport's private members this file relies on (checked in `useLeanSse`). */
interface SdkInternals {
  _handleSseStream(
    stream: ReadableStream<Uint8Array> | null,
    options: StreamOptions,
    isReconnectable: boolean,
  ): void;
  _scheduleReconnection(options: ReconnectOptions, attemptCount?: number): void;
  _abortController?: AbortController;
  _serverRetryMs?: number;
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
}

/** Makes `transport` read its SSE streams with `readSse` below. Call before connecting. */
export function useLeanSse(transport: StreamableHTTPClientTransport): void {
  const internals = transport as unknown as Partial<SdkInternals>;
  if (
    typeof internals._handleSseStream !== 'function' ||
    typeof internals._scheduleReconnection !== 'function'
  ) {
    throw new Error('the MCP SDK Streamable HTTP client changed: its SSE reader cannot be replaced');
  }
  const sdk = internals as SdkInternals;
  sdk._handleSseStream = (stream, options, isReconnectable) => {
    if (!stream) return;
    void readSse(sdk, stream, options, isReconnectable);
  };
}

async function readSse(
  t: SdkInternals,
  stream: ReadableStream<Uint8Array>,
  options: StreamOptions,
  isReconnectable: boolean,
): Promise<void> {
  const { onresumptiontoken, replayMessageId } = options;
  let lastEventId: string | undefined;
  // Per spec, a server SHOULD send a priming event with an id before closing a resumable stream.
  let hasPrimingEvent = false;
  // Reconnection is for a server that disconnects BEFORE sending the response.
  let receivedResponse = false;
  const onEvent = (event: EventSourceMessage) => {
    if (event.id) {
      lastEventId = event.id;
      hasPrimingEvent = true;
      onresumptiontoken?.(event.id);
    }
    // Priming events and keep-alives carry no data.
    if (!event.data) return;
    if (event.event && event.event !== 'message') return;
    try {
      const message = JSONRPCMessageSchema.parse(JSON.parse(event.data));
      if (isJSONRPCResultResponse(message)) {
        receivedResponse = true;
        if (replayMessageId !== undefined) message.id = replayMessageId;
      }
      t.onmessage?.(message);
    } catch (error) {
      t.onerror?.(error as Error);
    }
  };
  const parser = createParser({
    onEvent,
    onRetry: (retryMs) => {
      t._serverRetryMs = retryMs;
    },
  });
  const reconnect = () => {
    // Reconnect if the stream can resume (a GET stream, or a POST stream that sent an event id),
    // unless its response already came: then the request is complete.
    const canResume = isReconnectable || hasPrimingEvent;
    if (!canResume || receivedResponse || !t._abortController || t._abortController.signal.aborted) return;
    try {
      t._scheduleReconnection({ resumptionToken: lastEventId, onresumptiontoken, replayMessageId }, 0);
    } catch (error) {
      t.onerror?.(
        new Error(`Failed to reconnect: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  };
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    const rest = decoder.decode();
    if (rest) parser.feed(rest);
  } catch (error) {
    // Most likely a network disconnect.
    t.onerror?.(new Error(`SSE stream disconnected: ${error}`));
  }
  reconnect();
}
