/** Real MCP servers the audit tests list: from npm, and the example upstreams. */
import { join } from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { listUpstreamTools } from '../../src/audit/connect.js';
import { EVERYTHING_SERVER, FILESYSTEM_SERVER, ROOT, SERVERS, tempDir } from '../helpers/harness.js';

export const POSTGRES_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-postgres/dist/index.js');

export interface ServerSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** Each server as a stdio command; the postgres one lists its tools without reaching a database. */
export function servers(): Record<'filesystem' | 'everything' | 'postgres' | 'orders' | 'mail', ServerSpec> {
  const dir = tempDir();
  const node = process.execPath;
  return {
    filesystem: { command: node, args: [FILESYSTEM_SERVER, dir], env: {} },
    everything: { command: node, args: [EVERYTHING_SERVER], env: {} },
    postgres: { command: node, args: [POSTGRES_SERVER, 'postgresql://audit@127.0.0.1:1/none'], env: {} },
    orders: {
      command: node,
      args: ['--import', 'tsx', join(SERVERS, 'orders.ts')],
      env: { ORDERS_API_TOKEN: 'audit-test-token', ORDERS_DB: join(dir, 'orders.db') },
    },
    mail: {
      command: node,
      args: ['--import', 'tsx', join(SERVERS, 'mail.ts')],
      env: { MAIL_API_KEY: 'audit-test-key', MAIL_OUTBOX: join(dir, 'outbox.jsonl') },
    },
  };
}

export function listServer(spec: ServerSpec): Promise<Tool[]> {
  return listUpstreamTools(
    'server',
    { command: spec.command, args: spec.args, env: spec.env, cwd: ROOT, call_timeout: 30_000 },
    { env: {}, dir: ROOT },
    { signal: AbortSignal.timeout(30_000) },
  );
}
