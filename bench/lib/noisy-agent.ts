/**
 * A neighbour for bench/neighbours.bench.ts in a process of its own: it calls
 * `TOOL` with `{ bytes: BYTES }` in a loop on the MCP server at `URL` (with a
 * bearer token when given), announces itself once connected and prints a `c`
 * line per answered call, until it is stopped. Out of the bench's process, so
 * that reading whole answers straight from an upstream (no gateway to cut
 * them) never stalls the quiet agent's timing in the bench itself.
 *
 *   npx tsx bench/lib/noisy-agent.ts URL TOOL BYTES [TOKEN]
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { onStop } from './proc.js';

const [url, tool, bytes, token] = process.argv.slice(2);
if (!url || !tool || !bytes) {
  process.stderr.write('usage: noisy-agent.ts URL TOOL BYTES [TOKEN]\n');
  process.exit(2);
}
const client = new Client({ name: 'neighbours-noisy', version: '1' });
await client.connect(
  new StreamableHTTPClientTransport(
    new URL(url),
    token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {},
  ),
);
let stopping = false;
onStop(async () => {
  stopping = true;
  await client.close().catch(() => undefined);
});
process.stdout.write('{"ready":true}\n');
while (!stopping) {
  const result = await client.callTool({ name: tool, arguments: { bytes: Number(bytes) } }, undefined, {
    timeout: 120_000,
  });
  if (result.isError) {
    process.stderr.write(`noisy call refused: ${JSON.stringify(result).slice(0, 300)}\n`);
    process.exit(1);
  }
  process.stdout.write('c\n');
}
