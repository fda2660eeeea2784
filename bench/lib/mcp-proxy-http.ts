/**
 * mcp-proxy (npm) fronting a Streamable HTTP upstream. Its CLI only spawns
 * stdio servers, so this wires its library the way its CLI does — one shared
 * upstream client, one proxied `Server` per downstream session — with the
 * upstream reached over Streamable HTTP instead of stdio, to compare like with
 * like against the gateway fronting the same upstream. Prints `{"url"}`.
 *
 *   node --import tsx bench/lib/mcp-proxy-http.ts UPSTREAM_URL PORT
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Server, type ServerCapabilities } from '@modelcontextprotocol/server';
import { proxyServer, startHTTPServer } from 'mcp-proxy';
import { onStop } from './proc.js';

const [upstreamUrl, portArg] = process.argv.slice(2);
if (!upstreamUrl || !portArg) {
  // mcp-proxy does not report the port it bound, so the caller picks a free one.
  process.stderr.write('usage: mcp-proxy-http.ts UPSTREAM_URL PORT\n');
  process.exit(2);
}
const client = new Client({ name: 'mcp-proxy', version: '1.0.0' }, { capabilities: {} });
await client.connect(new StreamableHTTPClientTransport(new URL(upstreamUrl)));

const port = Number(portArg);
const server = await startHTTPServer({
  createServer: async () => {
    const serverCapabilities = client.getServerCapabilities() as ServerCapabilities;
    const server = new Server(client.getServerVersion() as { name: string; version: string }, {
      capabilities: serverCapabilities,
    });
    await proxyServer({ client, server, serverCapabilities });
    return server;
  },
  host: '127.0.0.1',
  port,
  sseEndpoint: null,
  streamEndpoint: '/mcp',
});
onStop(async () => {
  await server.close();
  await client.close();
});
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/mcp` })}\n`);
