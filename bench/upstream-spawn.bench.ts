/**
 * Spawn-to-ready of a stdio upstream: from starting the process to its tool
 * list answered, with the command under `setpriv --pdeathsig KILL` alone (the
 * containment before issue 16's process trees) vs in its own PID namespace
 * behind the two supervising shells (src/gateway/parent-death.ts). Rounds
 * interleaved; the server is a minimal node MCP server, so node's own start-up
 * is most of both figures and the difference is the containment's cost.
 *
 *   npx tsx bench/upstream-spawn.bench.ts --rounds 20
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { withParentDeath } from '../src/gateway/parent-death.js';
import { formatTable, percentile } from './lib/stats.js';
import { type Target, targetOn } from './lib/targets.js';

const SERVER = `
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const result = m.method === 'initialize'
    ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 's', version: '1' } }
    : m.method === 'tools/list' ? { tools: [] } : {};
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
});
`;

const sorted = (values: number[]) => [...values].sort((x, y) => x - y);

async function readyIn(command: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ command, args, stderr: 'ignore' }));
  await client.listTools();
  const took = performance.now() - t0;
  await client.close();
  return took;
}

export interface SpawnResult {
  rounds: number;
  containment: string;
  setprivP50: number;
  namespaceP50: number;
  setprivP90: number;
  namespaceP90: number;
  load: string;
}

export async function run(options: { rounds?: number } = {}): Promise<SpawnResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-spawn-bench-'));
  const server = join(dir, 'server.js');
  writeFileSync(server, SERVER);
  const contained = await withParentDeath(process.execPath, [server]);
  const plain = {
    command: '/usr/bin/setpriv',
    args: ['--pdeathsig', 'KILL', '--', process.execPath, server],
  };
  const a: number[] = [];
  const b: number[] = [];
  await readyIn(plain.command, plain.args);
  await readyIn(contained.command, contained.args);
  for (let i = 0; i < (options.rounds ?? 20); i++) {
    a.push(await readyIn(plain.command, plain.args));
    b.push(await readyIn(contained.command, contained.args));
  }
  return {
    rounds: a.length,
    containment: contained.containment.mode,
    setprivP50: percentile(sorted(a), 50),
    namespaceP50: percentile(sorted(b), 50),
    setprivP90: percentile(sorted(a), 90),
    namespaceP90: percentile(sorted(b), 90),
    load: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}

export function print(r: SpawnResult): void {
  console.log(
    `spawn-to-ready of a stdio upstream, ${r.rounds} rounds interleaved (${r.containment}), load ${r.load}`,
  );
  console.log(
    formatTable([
      ['containment', 'p50 ms', 'p90 ms'],
      ['setpriv --pdeathsig only', r.setprivP50.toFixed(1), r.setprivP90.toFixed(1)],
      ['own PID namespace', r.namespaceP50.toFixed(1), r.namespaceP90.toFixed(1)],
    ]),
  );
}

export function targets(r: SpawnResult): Target[] {
  // The tree's containment may add a few ms to an upstream's start, not a second node start-up.
  return [
    targetOn(
      'upstream spawn: own PID namespace adds ≤ 20 ms p50',
      r.namespaceP50 - r.setprivP50,
      ' ms',
      (v) => v <= 20,
    ),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--rounds');
  print(await run(i > 0 ? { rounds: Number(process.argv[i + 1]) } : {}));
}
