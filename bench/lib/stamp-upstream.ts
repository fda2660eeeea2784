/**
 * The replicas bench's upstream, over stdio: `echo` answers with the message
 * and the moment it received the call (`{"message", "at"}`, `at` in epoch
 * milliseconds from the high-resolution clock, comparable across processes on
 * this machine), so the bench can tell when a held call was released apart
 * from when its answer reached the agent; `wait` answers after `ms` unless
 * cancelled first.
 *
 *   node --import tsx bench/lib/stamp-upstream.ts
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { registerWaitTool } from './wait-tool.js';

/** Now, in epoch milliseconds with sub-millisecond resolution (the bench reads its clock the same way). */
const stamp = () => performance.timeOrigin + performance.now();

const server = new McpServer({ name: 'bench-stamp-upstream', version: '1.0.0' });
server.registerTool(
  'echo',
  { description: 'Echoes its input, with when it was received.', inputSchema: { message: z.string() } },
  async ({ message }) => ({ content: [{ type: 'text', text: JSON.stringify({ message, at: stamp() }) }] }),
);
registerWaitTool(server);
await server.connect(new StdioServerTransport());
