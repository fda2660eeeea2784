/**
 * Progress from an upstream, routed by the gateway itself rather than by the
 * SDK client. The SDK hands a notification to its handler a microtask later
 * but settles a response at once, so an upstream's last progress before its
 * answer found its call already finished and was dropped ("unknown token").
 * Here every `notifications/progress` is taken off the transport as it
 * arrives, in order, before the answer that follows it: it goes to the call
 * that registered its token, or nowhere. Tokens are the gateway's own (never
 * an agent's), one per call, released when the call ends, so progress sent
 * after the answer, or naming a token this connection never gave, is dropped.
 */
import { randomBytes } from 'node:crypto';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';

export type ProgressHandler = (progress: Progress) => void;

const routers = new WeakMap<object, Map<string, ProgressHandler>>();
const prefix = `bulkhead-${randomBytes(6).toString('hex')}-`;
let counter = 0;

/** Takes progress notifications off a connected client's transport (call once per connection). */
export function installProgressRouter(client: object, transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) throw new Error('the MCP SDK transport changed: upstream progress cannot be routed');
  const routes = new Map<string, ProgressHandler>();
  routers.set(client, routes);
  transport.onmessage = (message, extra) => {
    if ('method' in message && message.method === 'notifications/progress' && !('id' in message)) {
      const progress = progressOf(message.params);
      const handler = progress && routes.get(progress.token);
      if (handler && progress) handler(progress.value);
      return;
    }
    deliver.call(transport, message, extra);
  };
}

/**
 * A token for one call's progress; `release` when the call ended. Undefined when the client has
 * no router (then the call asks for no progress).
 */
export function routeProgress(
  client: object,
  handler: ProgressHandler,
): { token: string; release: () => void } | undefined {
  const routes = routers.get(client);
  if (!routes) return undefined;
  const token = `${prefix}${++counter}`;
  routes.set(token, handler);
  return { token, release: () => routes.delete(token) };
}

/** The token and figures of a progress notification's params, or undefined when malformed. */
function progressOf(params: unknown): { token: string; value: Progress } | undefined {
  if (params === null || typeof params !== 'object') return undefined;
  const p = params as Record<string, unknown>;
  if (typeof p.progressToken !== 'string' || typeof p.progress !== 'number' || !Number.isFinite(p.progress))
    return undefined;
  const value: Progress = { progress: p.progress };
  if (typeof p.total === 'number' && Number.isFinite(p.total)) value.total = p.total;
  if (typeof p.message === 'string') value.message = p.message;
  return { token: p.progressToken, value };
}
