/**
 * Recording, for tests: when BULKHEAD_RECORD names a file, every `tools/call`
 * this server receives is appended to it as one JSON line
 * `{"server", "tool", "arguments"}`, exactly as it arrived on the wire.
 *
 * It hooks the transport, ahead of the SDK's own argument parsing, so a call
 * the SDK would reject (wrong type, unknown tool, extra keys it would strip) is
 * still recorded: a test asserting "nothing hostile reached the upstream" must
 * not pass just because the upstream happened to refuse it too. Without
 * BULKHEAD_RECORD nothing is written.
 */
import { appendFileSync } from 'node:fs';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

export interface RecordLine {
  server: string;
  tool: string;
  arguments?: unknown;
}

export function appendRecord(line: RecordLine, file = process.env.BULKHEAD_RECORD): void {
  if (!file) return;
  // Synchronous on purpose: the line is on disk before the call is handled at all.
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/**
 * Records each tools/call request arriving on `transport`. Call it before
 * `server.connect(transport)`: the SDK keeps a handler set earlier and runs it
 * first for every message.
 */
export function recordToolCalls(
  transport: Transport,
  server: string,
  file = process.env.BULKHEAD_RECORD,
): void {
  if (!file) return;
  const previous = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if ('method' in message && message.method === 'tools/call' && 'id' in message) {
      const params = (message.params ?? {}) as { name?: unknown; arguments?: unknown };
      appendRecord({ server, tool: String(params.name), arguments: params.arguments }, file);
    }
    previous?.(message, extra);
  };
}
