/**
 * Lists the tools of every upstream a policy names (or of one ad-hoc server),
 * with the same connection code the gateway uses, reporting progress.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { connectUpstream, listAllTools } from '../gateway/upstream-client.js';
import type { UpstreamConfig } from '../policy/schema/index.js';
import type { SecretSource } from '../policy/secrets.js';

export interface Listed {
  upstream: string;
  tools: Tool[];
  error?: string;
}

export async function collectTools(
  upstreams: Record<string, UpstreamConfig>,
  source: SecretSource,
  progress: (line: string) => void = () => undefined,
): Promise<Listed[]> {
  const names = Object.keys(upstreams);
  let done = 0;
  return Promise.all(
    names.map(async (name) => {
      try {
        const connection = await connectUpstream(name, upstreams[name] as UpstreamConfig, source);
        try {
          const tools = await listAllTools(connection.client);
          progress(`[${++done}/${names.length}] ${name}: ${tools.length} tools`);
          return { upstream: name, tools };
        } finally {
          await connection.close().catch(() => undefined);
        }
      } catch (error) {
        progress(`[${++done}/${names.length}] ${name}: failed (${(error as Error).message})`);
        return { upstream: name, tools: [], error: (error as Error).message };
      }
    }),
  );
}
