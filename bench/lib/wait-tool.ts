/** The benches' upstreams' `wait` tool: answers after `ms` unless cancelled first. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

export function registerWaitTool(server: McpServer): void {
  server.registerTool(
    'wait',
    { description: 'Answers after ms.', inputSchema: { ms: z.number().int().min(0).max(600_000) } },
    async ({ ms }, extra) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return { content: [{ type: 'text', text: `waited ${ms}` }] };
    },
  );
}
