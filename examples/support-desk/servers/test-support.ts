/**
 * Shared by the example servers' tests: start a server the way the gateway
 * does (a child process over stdio, `node --import tsx`, only the variables
 * given plus the SDK's short default list), and read back what it recorded.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { RecordLine } from './record.js';

export const SERVERS_DIR = dirname(fileURLToPath(import.meta.url));
/** The repository root: `--import tsx` is resolved from the child's working directory. */
export const ROOT = resolve(SERVERS_DIR, '../../..');

export function serverArgs(server: 'orders' | 'mail'): string[] {
  return ['--import', 'tsx', join(SERVERS_DIR, `${server}.ts`)];
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bulkhead-example-servers-'));
}

export async function connect(server: 'orders' | 'mail', env: Record<string, string>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: serverArgs(server),
    env,
    cwd: ROOT,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'example-servers-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}

export function recorded(file: string): RecordLine[] {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return raw
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RecordLine);
}

/** Polls until `check` returns something, for effects that land in another process. */
export async function waitFor<T>(check: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
