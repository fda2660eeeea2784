/**
 * A provider scripted byte for byte, for attack tests on the LLM proxy: it records every request
 * (method, target, headers, body as received) and answers with whatever `handler` is set to.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (seen: Seen, res: ServerResponse) => void;

export interface RawProvider {
  url: string;
  seen: Seen[];
  handler: Handler;
  close(): Promise<void>;
}

export async function startRawProvider(handler: Handler): Promise<RawProvider> {
  const provider: RawProvider = { url: '', seen: [], handler, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      provider.seen.push(s);
      provider.handler(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  provider.url = `http://127.0.0.1:${address.port}`;
  provider.close = () => new Promise<void>((r) => server.close(() => r()));
  return provider;
}
