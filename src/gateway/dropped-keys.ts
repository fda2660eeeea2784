/**
 * The SDK validates a `tools/call` with zod, and zod's record parsing leaves
 * out a top-level `__proto__` key: `{"amount": 5, "__proto__": {...}}` reaches
 * the handler as `{"amount": 5}`, so the gateway would forward a call the
 * agent did not send as written. This hook reads each message as JSON.parse
 * produced it (an own `__proto__` property), before the SDK's parsing, and
 * remembers which request carried one; the validate stage then refuses it.
 * Deeper `__proto__` keys survive the SDK's parsing and are refused there.
 * A `prompts/get` carrying one is refused by the prompt handler the same way.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/** Requests in flight per session are few; a bound keeps a flood of odd ids from growing it. */
const MAX_REMEMBERED = 1024;

export interface DroppedKeys {
  /** The pointer of the dropped key for this request id, once (it is forgotten as it is read). */
  take(requestId: string | number): string | undefined;
}

/** Call before `server.connect(transport)`: the SDK runs a handler set earlier before its own. */
export function watchDroppedKeys(transport: Transport): DroppedKeys {
  const seen = new Map<string | number, string>();
  transport.onmessage = (message) => {
    // prompts/get arguments are a record too: the same key is dropped there.
    if (
      'method' in message &&
      (message.method === 'tools/call' || message.method === 'prompts/get') &&
      'id' in message
    ) {
      const args = (message.params as { arguments?: unknown } | undefined)?.arguments;
      if (args !== null && typeof args === 'object' && Object.hasOwn(args, '__proto__')) {
        if (seen.size >= MAX_REMEMBERED) seen.clear();
        seen.set(message.id, '/__proto__');
      }
    }
  };
  return {
    take(requestId) {
      const pointer = seen.get(requestId);
      if (pointer !== undefined) seen.delete(requestId);
      return pointer;
    },
  };
}
