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
  /** Scrubs server output before it is shown (a failing server may print its credential). */
  scrub: (text: string) => string = (text) => text,
): Promise<Listed[]> {
  const names = Object.keys(upstreams);
  let done = 0;
  return Promise.all(
    names.map(async (name) => {
      let stderr = '';
      try {
        const connection = await connectUpstream(name, upstreams[name] as UpstreamConfig, source, {
          onStderr: (text) => {
            stderr = `${stderr}\n${text}`.slice(-2000);
          },
        });
        try {
          const tools = await listAllTools(connection.client);
          progress(`[${++done}/${names.length}] ${name}: ${tools.length} tools`);
          return { upstream: name, tools };
        } finally {
          await connection.close().catch(() => undefined);
        }
      } catch (error) {
        // The server's own last words say why it did not start (scrubbed: it may print its own credential).
        const why = scrub(
          `${(error as Error).message}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
        );
        progress(`[${++done}/${names.length}] ${name}: failed (${why})`);
        return { upstream: name, tools: [], error: why };
      }
    }),
  );
}
