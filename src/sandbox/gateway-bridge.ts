/**
 * The host side of the jail's gateway bridge: a Unix socket in the jail's
 * runtime folder that forwards HTTP to the gateway, for the two things an
 * agent needs there and nothing else: MCP (`/mcp`) and the LLM proxy
 * (`/v1/...`). The operator API (`/api`), the dashboard (`/ui`) and
 * `/metrics` do not exist from inside, whatever token the agent found.
 *
 * Each request is parsed here and sent on as a new request, so what the
 * gateway sees is what was checked: the path is the normalized one, no
 * second request can hide in the first one's body (smuggling), and
 * upgrades and CONNECT are refused.
 */
import {
  Agent,
  type ClientRequest,
  createServer,
  type IncomingMessage,
  request,
  type Server,
} from 'node:http';
import type { Socket } from 'node:net';
import type { TcpTarget } from './socket-host.js';

export type GatewayPathDecision = { ok: true; path: string } | { ok: false; reason: string };

/** Only origin-form paths to /mcp or under /v1/, without dot segments or encoded separators. */
export function gatewayPath(url: string): GatewayPathDecision {
  if (!url.startsWith('/') || url.startsWith('//'))
    return { ok: false, reason: 'only paths on the gateway are forwarded' };
  const raw = url.split('?')[0] ?? '';
  if (/%2f|%5c|%2e|\\|\/\.\.?(\/|$)/i.test(raw))
    return { ok: false, reason: 'dot segments and encoded separators are refused' };
  const parsed = new URL(url, 'http://gateway');
  const path = parsed.pathname;
  if (path === '/mcp' || path.startsWith('/v1/')) return { ok: true, path: `${path}${parsed.search}` };
  return {
    ok: false,
    reason: `${path} is not reachable from the jail (only /mcp and the LLM proxy under /v1/)`,
  };
}

const HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'host']);

function forwardHeaders(req: IncomingMessage, host: string): Record<string, string | string[]> {
  const hop = new Set(HOP);
  for (const name of String(req.headers.connection ?? '').split(',')) hop.add(name.trim().toLowerCase());
  const out: Record<string, string | string[]> = { host };
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined || hop.has(key) || key.startsWith('proxy-')) continue;
    out[key] = value;
  }
  return out;
}

/**
 * How long a request waits for a gateway that refuses connections (being restarted) before the
 * agent gets a 502. Under Claude Code's 60 s wait for an answer to start; far under the
 * Anthropic SDK's 10 minutes.
 */
export const GATEWAY_RETURN_MS = 45_000;

/** A connection the gateway refused (nothing listens): the request never reached it, so it may be sent again. */
function refused(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNREFUSED' || code === 'ENOENT';
}

export async function serveGatewayBridge(
  path: string,
  target: TcpTarget,
  options: { returnMs?: number } = {},
): Promise<Server> {
  const returnMs = options.returnMs ?? GATEWAY_RETURN_MS;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const open = new Set<Socket>();
  const host = target.host.includes(':')
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
  const server = createServer((req, res) => {
    const decision = gatewayPath(req.url ?? '');
    if (!decision.ok) {
      res
        .writeHead(403, { 'content-type': 'text/plain', 'x-bulkhead-bridge': 'denied' })
        .end(`bulkhead: ${decision.reason}\n`);
      return;
    }
    const giveUpAt = Date.now() + returnMs;
    let upstream: ClientRequest | undefined;
    let left = false;
    // An agent that hangs up ends its request at the gateway too (a streamed answer stops).
    res.once('close', () => {
      left = true;
      upstream?.destroy();
    });
    const send = (retryMs: number) => {
      if (left) return;
      let sent = false;
      const attempt = request(
        {
          host: target.host,
          port: target.port,
          method: req.method,
          path: decision.path,
          headers: forwardHeaders(req, host),
          agent,
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
          // The gateway went away in the middle of its answer (killed, restarted): pipe() would
          // leave the agent's side open forever, and the agent would wait on a stream that says
          // nothing more (a model stream for 10 minutes, an MCP stream for as long as a tool
          // call may last). Cutting it tells the agent at once, and it tries again.
          response.once('close', () => {
            if (!response.complete) res.destroy();
          });
        },
      );
      upstream = attempt;
      // The body goes out only once a connection stands, so a refused one can be made again.
      attempt.once('socket', (socket: Socket) => {
        const go = () => {
          sent = true;
          req.pipe(attempt);
        };
        if (socket.connecting) socket.once('connect', go);
        else go();
      });
      attempt.on('error', (error) => {
        if (left) return;
        // Nothing listens (the gateway is being restarted): the request never reached it, and
        // waits for the new one rather than failing the agent's call or model turn.
        const wait = Math.min(retryMs, giveUpAt - Date.now());
        if (!sent && refused(error) && wait > 0) {
          setTimeout(() => send(Math.min(retryMs * 2, 1_000)), wait).unref();
          return;
        }
        if (res.headersSent) res.destroy();
        else
          res
            .writeHead(502, { 'content-type': 'text/plain' })
            .end(
              sent
                ? 'bulkhead: the gateway went away while this request was in flight; its outcome is unknown\n'
                : 'bulkhead: the gateway is unreachable\n',
            );
      });
    };
    send(50);
  });
  const refuse = (_req: IncomingMessage, socket: Socket) => {
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  };
  server.on('upgrade', refuse);
  server.on('connect', refuse);
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  server.once('close', () => {
    for (const socket of open) socket.destroy();
    agent.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
