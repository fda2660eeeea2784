import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, ROOT, recorded, serverArgs, tempDir, text } from './test-support.js';

const KEY = 'mail-canary-2b8e6d0f4a1c3e5b';
const dirs: string[] = [];
const clients: Client[] = [];

function fresh() {
  const dir = tempDir();
  dirs.push(dir);
  return { outbox: join(dir, 'outbox.jsonl'), record: join(dir, 'received.jsonl') };
}

async function start(env: Record<string, string>): Promise<Client> {
  const client = await connect('mail', { MAIL_API_KEY: KEY, ...env });
  clients.push(client);
  return client;
}

function outboxLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('mail server', () => {
  it('appends a sent message to the outbox and returns its id', async () => {
    const { outbox } = fresh();
    const client = await start({ MAIL_OUTBOX: outbox });
    const message = { to: 'customer42@example.com', subject: 'Your order', body: 'It shipped.' };
    const out = text(await client.callTool({ name: 'send_email', arguments: message }));
    const id = /message (msg_[0-9a-f-]{36})/.exec(out)?.[1];
    expect(id).toBeDefined();
    expect(outboxLines(outbox)).toEqual([{ id, ...message, sent_at: expect.any(String) }]);
  });

  it('lists the most recent messages up to the limit', async () => {
    const { outbox } = fresh();
    const client = await start({ MAIL_OUTBOX: outbox });
    for (const n of [1, 2, 3]) {
      await client.callTool({
        name: 'send_email',
        arguments: { to: `customer${n}@example.com`, subject: `s${n}`, body: 'b' },
      });
    }
    const listed = text(await client.callTool({ name: 'list_outbox', arguments: { limit: 2 } }))
      .split('\n')
      .map((line) => (JSON.parse(line) as { to: string }).to);
    expect(listed).toEqual(['customer2@example.com', 'customer3@example.com']);
  });

  it('says so when the outbox is empty', async () => {
    const client = await start({ MAIL_OUTBOX: fresh().outbox });
    expect(text(await client.callTool({ name: 'list_outbox', arguments: {} }))).toBe('The outbox is empty.');
  });

  it('annotates send_email as open-world and list_outbox as read-only', async () => {
    const client = await start({ MAIL_OUTBOX: fresh().outbox });
    const { tools } = await client.listTools();
    const hints = Object.fromEntries(tools.map((t) => [t.name, t.annotations]));
    expect(hints.send_email).toMatchObject({ openWorldHint: true, readOnlyHint: false });
    expect(hints.list_outbox).toMatchObject({ readOnlyHint: true, openWorldHint: false });
  });

  it('records each tools/call before acting on it', async () => {
    const { outbox, record } = fresh();
    const client = await start({ MAIL_OUTBOX: outbox, BULKHEAD_RECORD: record });
    const args = { to: 'a@example.com', subject: 'hi', body: 'there' };
    await client.callTool({ name: 'send_email', arguments: args });
    expect(recorded(record)).toEqual([{ server: 'mail', tool: 'send_email', arguments: args }]);
  });

  it('refuses to start without MAIL_API_KEY and says which variable is missing', () => {
    const child = spawnSync(process.execPath, serverArgs('mail'), {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', MAIL_OUTBOX: fresh().outbox },
      input: '',
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.status).toBe(1);
    expect(child.stderr).toContain('MAIL_API_KEY is not set');
    expect(child.stdout).toBe('');
  });
});
