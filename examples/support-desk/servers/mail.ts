/**
 * Example upstream: outgoing mail, over stdio. `send_email` appends each
 * message to an outbox file (JSON lines) instead of delivering it, so tests and
 * the demo can read exactly what would have left the company. The service
 * checks nothing about the recipient: the gateway's policy decides who may be
 * mailed.
 *
 * Env:
 *   MAIL_API_KEY     required; this upstream's own credential, injected by the gateway
 *   MAIL_OUTBOX      outbox file (default: bulkhead-outbox.jsonl in the temp dir)
 *   BULKHEAD_RECORD  file to record every tools/call received (see record.ts)
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { requireEnv } from './env.js';
import { recordToolCalls } from './record.js';

requireEnv('MAIL_API_KEY', 'mail');
const outbox = process.env.MAIL_OUTBOX ?? join(tmpdir(), 'bulkhead-outbox.jsonl');
mkdirSync(dirname(outbox), { recursive: true });
const server = new McpServer({ name: 'mail', version: '1.0.0' });

const reply = (text: string) => ({ content: [{ type: 'text' as const, text }] });

server.registerTool(
  'send_email',
  {
    title: 'Send an email',
    description:
      'Sends an email to one recipient outside the company and returns its message id. Sent mail cannot be recalled.',
    inputSchema: {
      to: z.string().describe('Recipient address'),
      subject: z.string().describe('Subject line'),
      body: z.string().describe('Plain-text body'),
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  },
  async ({ to, subject, body }) => {
    const id = `msg_${randomUUID()}`;
    appendFileSync(
      outbox,
      `${JSON.stringify({ id, to, subject, body, sent_at: new Date().toISOString() })}\n`,
    );
    return reply(`Sent to ${to} (message ${id}).`);
  },
);

server.registerTool(
  'list_outbox',
  {
    title: 'List sent mail',
    description: 'Lists the most recently sent messages, oldest of them first, as JSON lines.',
    inputSchema: {
      limit: z.number().int().min(1).max(50).optional().describe('How many messages to return (default 10)'),
    },
    annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: false },
  },
  async ({ limit = 10 }) => {
    const lines = existsSync(outbox) ? readFileSync(outbox, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length === 0) return reply('The outbox is empty.');
    return reply(lines.slice(-limit).join('\n'));
  },
);

const transport = new StdioServerTransport();
recordToolCalls(transport, 'mail');
await server.connect(transport);
