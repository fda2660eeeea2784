/**
 * An agent cancels a request with `notifications/cancelled`, whose `reason` is
 * free text. The SDK aborts the request's signal with that reason, and an SDK
 * client cancelling what the signal guarded sends `String(reason)` on to its
 * server: the agent's words reached the upstream of any tool call, resource
 * read or prompt it cancelled, past the argument schema, the flow rules and
 * the audit trail (private data handed to an external upstream). The reason
 * is replaced at the session's door, before the SDK reads the message: the
 * upstream is told of a cancellation, and nothing the agent wrote. Replaced,
 * not dropped: a string reason is how the gateway tells a cancelled call from
 * a caller whose connection closed (approvals/wait.ts).
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/** What every agent's cancellation says once past the door. */
export const CANCEL_REASON = 'The agent cancelled the request.';

/** Call before `server.connect(transport)`, after any other hook: it runs first. */
export function dropCancelReasons(transport: Transport): void {
  const next = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if ('method' in message && message.method === 'notifications/cancelled') {
      const params = message.params as Record<string, unknown> | undefined;
      if (typeof params?.reason === 'string') params.reason = CANCEL_REASON;
    }
    next?.(message, extra);
  };
}
