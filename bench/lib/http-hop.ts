/**
 * The hop alone: a bare `node:http` reverse proxy (keep-alive agent, bodies
 * piped, nothing parsed) in front of a Streamable HTTP upstream. What it adds
 * over a direct connection is what any process in the path costs on this
 * machine (two more loopback round trips, two more event loops), so the
 * gateway bench can say how much of bulkhead's added latency is the hop and
 * how much its own work. Prints `{"url"}`.
 *
 *   node --import tsx bench/lib/http-hop.ts UPSTREAM_URL
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onStop } from './proc.js';

const upstreamArg = process.argv[2];
if (!upstreamArg) {
  process.stderr.write('usage: http-hop.ts UPSTREAM_URL\n');
  process.exit(2);
}
const upstream = new URL(upstreamArg);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((req, res) => {
  const headers = { ...req.headers, host: upstream.host };
  const forward = request(
    { agent, host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forward.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(forward);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
onStop(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  agent.destroy();
});
const { port } = server.address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/mcp` })}\n`);
