/**
 * How an agent connects to bulkhead with the official SDK client: Streamable
 * HTTP to the gateway's /mcp with its run token as a bearer. Used by the demo
 * and by anyone writing a scripted agent.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export async function connectAgentClient(options: {
  mcpUrl: string;
  token: string;
  name?: string;
}): Promise<Client> {
  const client = new Client({ name: options.name ?? 'bulkhead-agent', version: '0.1.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(options.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${options.token}` } },
    }),
  );
  return client;
}
