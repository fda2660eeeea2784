import type { IncomingMessage } from 'node:http';

/** A request's body as text, decoded once whole: a character cut between two chunks stays whole. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
