/**
 * An agent cancels a request with `notifications/cancelled`, whose `reason` is
 * free text. The SDK aborts the request's signal with that reason, and an SDK
 * client cancelling what the signal guarded sends `String(reason)` on to its
 * server: the agent's words reached the upstream of any tool call, resource
 * read or prompt it cancelled, past the argument schema, the flow rules and
 * the audit trail (private data handed to an external upstream). The reason
 * is dropped at the session's door, before the SDK reads the message: the
 * upstream is told of a cancellation, and nothing the agent wrote.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/** Call before `server.connect(transport)`, after any other hook: it runs first. */
export function dropCancelReasons(transport: Transport): void {
  const next = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if ('method' in message && message.method === 'notifications/cancelled') {
      const params = message.params as Record<string, unknown> | undefined;
      if (params && 'reason' in params) delete params.reason;
    }
    next?.(message, extra);
  };
}
