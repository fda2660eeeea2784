/**
 * Example upstream: outgoing mail, over stdio. `send_email` appends the
 * message to an outbox file (JSON lines) instead of sending it, so tests and
 * the demo can see exactly what left.
 *
 * Env: MAIL_API_KEY (required: its credential), MAIL_OUTBOX (file path),
 * BULKHEAD_RECORD (test recording).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { requireEnv } from './env.js';
import { record } from './record.js';

requireEnv('MAIL_API_KEY', 'mail');
const outbox = process.env.MAIL_OUTBOX ?? join(tmpdir(), 'bulkhead-outbox.jsonl');
const server = new McpServer({ name: 'mail', version: '1.0.0' });

server.registerTool(
  'send_email',
  {
    description: 'Sends an email to one recipient.',
    inputSchema: { to: z.string(), subject: z.string(), body: z.string() },
    annotations: { openWorldHint: true, destructiveHint: false },
  },
  async ({ to, subject, body }) => {
    record('mail', 'send_email', { to, subject, body });
    const id = randomUUID();
    appendFileSync(outbox, `${JSON.stringify({ id, to, subject, body, at: new Date().toISOString() })}\n`);
    return { content: [{ type: 'text', text: `Sent to ${to} (message ${id}).` }] };
  },
);

server.registerTool(
  'list_outbox',
  {
    description: 'Lists the most recent messages sent.',
    inputSchema: { limit: z.number().int().min(1).max(50).optional() },
    annotations: { readOnlyHint: true },
  },
  async ({ limit }) => {
    record('mail', 'list_outbox', { limit });
    const lines = existsSync(outbox) ? readFileSync(outbox, 'utf8').trim().split('\n').filter(Boolean) : [];
    return { content: [{ type: 'text', text: lines.slice(-(limit ?? 10)).join('\n') || 'empty' }] };
  },
);

await server.connect(new StdioServerTransport());
