/**
 * The host side of a bridge: a Unix socket in the jail's runtime folder
 * that forwards each connection to one fixed TCP destination (the gateway).
 * The jail sees only the socket file, bind-mounted read-only; where the
 * connection goes is decided here, on the host, and cannot be chosen from
 * inside.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpTarget {
  host: string;
  port: number;
}

/** Listens on `path` and pipes every connection to `target`; closing the server ends the open ones. */
export async function serveUnixToTcp(path: string, target: TcpTarget): Promise<Server> {
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    const upstream = connect(target.port, target.host);
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.once('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.once('close', () => {
    for (const socket of open) socket.destroy();
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

/** The TCP destination of an http(s) URL, e.g. the gateway's base URL. */
export function tcpTargetOf(url: string): TcpTarget {
  const parsed = new URL(url);
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port };
}
