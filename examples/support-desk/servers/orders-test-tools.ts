/**
 * Test-only tools of the orders server. None exists unless its switch is set
 * to "1", so a real deployment of the example never offers them:
 *
 * - ORDERS_TEST_LEAKS=1: `leak_token_for_test` returns the raw credential (and
 *   its base64), and `get_order_status` of LEAKING_ORDER_ID fails with an error
 *   carrying it. Tests use them to prove the gateway scrubs results and errors.
 * - ORDERS_TEST_TOOLS=1: `slow_echo` waits, then echoes — a call that is still
 *   in flight when a timeout, kill or cancel must end it.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { appendRecord } from './record.js';

export const LEAKING_ORDER_ID = 'ORD-999999';

export function registerLeakTools(server: McpServer, token: string): void {
  server.registerTool(
    'leak_token_for_test',
    {
      description: 'Test only: returns this service’s raw credential, to check that the gateway redacts it.',
      inputSchema: {},
      annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: false },
    },
    async () => ({
      content: [
        {
          type: 'text' as const,
          text: `my token is ${token} (base64 ${Buffer.from(token).toString('base64')})`,
        },
      ],
    }),
  );
}

export function registerSlowEcho(server: McpServer): void {
  server.registerTool(
    'slow_echo',
    {
      description:
        'Test only: waits `ms` milliseconds, then returns `text`. Returns early when the request is aborted.',
      inputSchema: {
        ms: z.number().int().min(0).max(60_000).describe('How long to wait, in milliseconds'),
        text: z.string().describe('Returned unchanged'),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: false },
    },
    async ({ ms, text }, extra) => {
      try {
        await sleep(ms, extra.signal);
      } catch (error) {
        // A line of its own (not a tools/call line) so kill and cancel tests can see the cancel arrive here.
        appendRecord({ server: 'orders', tool: 'slow_echo:cancelled', arguments: { text } });
        throw error;
      }
      return { content: [{ type: 'text' as const, text }] };
    },
  );
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts: a cancelled call must not keep its timer. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
