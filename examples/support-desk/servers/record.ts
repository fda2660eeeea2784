/**
 * Recording, for tests: when BULKHEAD_RECORD names a file, every tools/call
 * this server receives is appended to it as one JSON line, before anything
 * else happens. Tests read it to prove what did (and did not) reach an
 * upstream through the gateway.
 */
import { appendFileSync } from 'node:fs';

export function record(server: string, tool: string, args: unknown): void {
  const file = process.env.BULKHEAD_RECORD;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ server, tool, arguments: args })}\n`);
}
