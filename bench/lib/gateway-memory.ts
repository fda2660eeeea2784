/**
 * What a gateway child (gateway-child.ts, run with --expose-gc) says of its memory: SIGUSR2 makes
 * it collect garbage twice and write heap, RSS and open descriptors to `dir/mem.json`.
 */

import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface GatewayMemory {
  heapUsed: number;
  rss: number;
  fds: number;
  sessions: number;
  /** Entries the SDK transports still hold, when the gateway reports them. */
  retained?: number;
}

export async function gatewayMemory(child: ChildProcess, dir: string): Promise<GatewayMemory> {
  const file = join(dir, 'mem.json');
  rmSync(file, { force: true });
  child.kill('SIGUSR2');
  for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  const mem = JSON.parse(readFileSync(file, 'utf8')) as GatewayMemory & { gc: boolean };
  if (!mem.gc) throw new Error('the gateway child runs without --expose-gc');
  return mem;
}
