/** The gateway's HTTP server: listening on the configured address, and the local operator token for it (gateway.ts). */
import type { AddressInfo } from 'node:net';
import type { ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { GatewayOptions } from './gateway-types.js';
import { listen } from './http-app.js';
import { writeLocalToken } from './operators.js';

export async function listenGateway(
  app: Hono,
  options: GatewayOptions,
  localToken: string,
): Promise<{ server: ServerType; port: number; url: string; localTokenPath: string }> {
  const host = options.host ?? '127.0.0.1';
  const server = await listen(app, options.port ?? 7300, host, options.tls);
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const localTokenPath = writeLocalToken(localToken, port, options.home);
  return { server, port, url, localTokenPath };
}
