/**
 * The benchmark upstream: a trivial `echo` tool (and `blob` and `hostile`
 * for large and pathological answers, `wait` for one that answers after `ms`
 * unless cancelled first), served either over stdio
 * (`--stdio`) or Streamable HTTP (`--http PORT`, stateful sessions), so every
 * configuration measures the same server.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { registerWaitTool } from './lib/wait-tool.js';

function newServer(): McpServer {
  const server = new McpServer({ name: 'bench-upstream', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes its input.', inputSchema: { message: z.string() } },
    async ({ message }) => ({
      content: [{ type: 'text', text: message }],
    }),
  );
  server.registerTool(
    'blob',
    { description: 'Answers with that many characters.', inputSchema: { bytes: z.number().int().min(0) } },
    async ({ bytes }) => ({ content: [{ type: 'text', text: 'x'.repeat(bytes) }] }),
  );
  server.registerTool(
    'hostile',
    {
      description: 'Answers with that many characters of text made to be slow to scrub.',
      inputSchema: { bytes: z.number().int().min(0) },
    },
    // Every few bytes an anchor of a key=value rule, none of which completes a secret.
    async ({ bytes }) => ({
      content: [{ type: 'text', text: 'token='.repeat(Math.ceil(bytes / 6)).slice(0, bytes) }],
    }),
  );
  registerWaitTool(server);
  return server;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

const mode = process.argv[2];
if (mode === '--stdio') {
  await newServer().connect(new StdioServerTransport());
} else if (mode === '--http') {
  const port = Number(process.argv[3] ?? 0);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const id = req.headers['mcp-session-id'];
    const parsed = req.method === 'POST' ? await body(req) : undefined;
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!transport) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => {
          sessions.set(sid, transport as StreamableHTTPServerTransport);
        },
      });
      await newServer().connect(transport);
    }
    await transport.handleRequest(req, res, parsed);
  });
  http.listen(port, '127.0.0.1', () => {
    const address = http.address();
    process.stdout.write(`${typeof address === 'object' && address ? address.port : port}\n`);
  });
} else {
  process.stderr.write('usage: upstream.ts --stdio | --http PORT\n');
  process.exit(2);
}
