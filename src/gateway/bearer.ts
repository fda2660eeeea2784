/** The bearer run token of an agent's request, compared in constant time, and the 401 it gets without one. */
import { timingSafeEqual } from 'node:crypto';

export function bearer(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

export function unauthorized(challenge: string | undefined): Response {
  return new Response(JSON.stringify({ error: 'unauthorized', message: 'A valid run token is required.' }), {
    status: 401,
    headers: {
      'content-type': 'application/json',
      'www-authenticate': challenge ?? 'Bearer realm="bulkhead"',
    },
  });
}

export function sameToken(held: Buffer, presented: string): boolean {
  const other = Buffer.from(presented);
  return held.length === other.length && timingSafeEqual(held, other);
}
