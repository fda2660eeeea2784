/**
 * tools/call latency and throughput, side by side in one run:
 *   direct        the SDK client straight to the upstream over Streamable HTTP
 *   bulkhead      the gateway fronting that same HTTP upstream (SQLite audit trail on)
 *   bulkhead/stdio  the gateway fronting the same server over stdio
 *   mcp-proxy     a plain TypeScript MCP proxy (npm mcp-proxy) fronting the stdio server
 * at concurrency 1 (one client, sequential) and 32 (32 clients, each its own session,
 * each sequential). Rounds are interleaved so machine noise hits every configuration alike.
 *
 *   npx tsx bench/gateway.bench.ts [--rounds 3]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type Gateway, startGateway } from '../src/gateway/gateway.js';
import { loadPolicyFile } from '../src/policy/load.js';
import { formatTable, type LatencySummary, median, summarize } from './lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UPSTREAM = join(ROOT, 'bench/upstream.ts');
const MCP_PROXY = join(ROOT, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs');

interface Target {
  name: string;
  url: string;
  /** Headers for the i-th client (the gateway gives each client its own run, as real agents have). */
  headers: (i: number) => Record<string, string>;
  tool: string;
}

export interface GatewayBenchRow {
  target: string;
  concurrency: number;
  p50: number;
  p99: number;
  perSecond: number;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

async function waitForHttp(url: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      await fetch(url, { method: 'GET' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

function startChild(args: string[]): ChildProcess {
  return spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
}

async function connect(target: Target, i: number): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(target.url), { requestInit: { headers: target.headers(i) } }),
  );
  return client;
}

let counter = 0;
async function measure(target: Target, concurrency: number, callsPerClient: number): Promise<LatencySummary> {
  const clients = await Promise.all(Array.from({ length: concurrency }, (_, i) => connect(target, i)));
  // Warm-up: JIT, sessions, upstream connections.
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < 20; i++)
        await c.callTool({ name: target.tool, arguments: { message: `w${counter++}` } });
    }),
  );
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < callsPerClient; i++) {
        const t0 = performance.now();
        // Unique messages: identical repeats would (rightly) trip the gateway's loop guard.
        await c.callTool({ name: target.tool, arguments: { message: `m${counter++}` } });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const wall = performance.now() - started;
  await Promise.all(clients.map((c) => c.close()));
  return summarize(latencies, wall);
}

export async function run(
  options: { rounds?: number; log?: (line: string) => void } = {},
): Promise<GatewayBenchRow[]> {
  const rounds = options.rounds ?? 3;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-bench-'));
  const children: ChildProcess[] = [];
  let gateway: Gateway | undefined;
  try {
    const upstreamPort = await freePort();
    children.push(startChild(['--import', 'tsx', UPSTREAM, '--http', String(upstreamPort)]));
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}/mcp`;
    await waitForHttp(upstreamUrl);

    const proxyPort = await freePort();
    children.push(
      startChild([
        MCP_PROXY,
        '--port',
        String(proxyPort),
        '--server',
        'stream',
        '--',
        process.execPath,
        '--import',
        'tsx',
        UPSTREAM,
        '--stdio',
      ]),
    );
    await waitForHttp(`http://127.0.0.1:${proxyPort}/mcp`);

    writeFileSync(
      join(dir, 'policy.yaml'),
      `version: 1
store: { sqlite: ./bench.db }
upstreams:
  http:
    url: ${upstreamUrl}
  stdio:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(UPSTREAM)}, --stdio]
    cwd: ${JSON.stringify(ROOT)}
tools:
  http:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
  stdio:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
profiles:
  bench:
    tools: [http__echo, stdio__echo]
    loop_guard: { identical_calls: 1000000 }
`,
    );
    gateway = await startGateway({
      loaded: loadPolicyFile(join(dir, 'policy.yaml')),
      port: 0,
      home: join(dir, 'home'),
      logDestination: createWriteStream(join(dir, 'gateway.log')),
    });
    const gw = gateway;
    const tokens = await Promise.all(
      Array.from({ length: 32 }, async () => (await gw.runs.create('bench', { ttlMs: 3_600_000 })).token),
    );
    const auth = (i: number) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
    const targets: Target[] = [
      { name: 'direct (HTTP upstream)', url: upstreamUrl, headers: () => ({}), tool: 'echo' },
      { name: 'bulkhead → HTTP upstream', url: `${gateway.url}/mcp`, headers: auth, tool: 'http__echo' },
      { name: 'bulkhead → stdio upstream', url: `${gateway.url}/mcp`, headers: auth, tool: 'stdio__echo' },
      {
        name: 'mcp-proxy → stdio upstream',
        url: `http://127.0.0.1:${proxyPort}/mcp`,
        headers: () => ({}),
        tool: 'echo',
      },
    ];
    const results = new Map<string, LatencySummary[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const [concurrency, perClient] of [
        [1, 1000],
        [32, 60],
      ] as const) {
        for (const target of targets) {
          const summary = await measure(target, concurrency, perClient);
          const key = `${target.name}|${concurrency}`;
          results.set(key, [...(results.get(key) ?? []), summary]);
          log(
            `round ${round}/${rounds}  c=${concurrency}  ${target.name}: p50 ${summary.p50.toFixed(2)} ms, ${summary.perSecond.toFixed(0)} calls/s`,
          );
        }
      }
    }
    const rows: GatewayBenchRow[] = [];
    for (const [key, summaries] of results) {
      const [target, c] = key.split('|') as [string, string];
      rows.push({
        target,
        concurrency: Number(c),
        p50: median(summaries.map((s) => s.p50)),
        p99: median(summaries.map((s) => s.p99)),
        perSecond: median(summaries.map((s) => s.perSecond)),
      });
    }
    return rows;
  } finally {
    await gateway?.close();
    for (const child of children) child.kill('SIGKILL');
  }
}

export function print(rows: GatewayBenchRow[]): string {
  const lines: string[] = [];
  for (const c of [1, 32]) {
    const at = rows.filter((r) => r.concurrency === c);
    const direct = at.find((r) => r.target.startsWith('direct'));
    const proxy = at.find((r) => r.target.startsWith('mcp-proxy'));
    const viaStdio = at.find((r) => r.target.includes('stdio') && r.target.startsWith('bulkhead'));
    lines.push(`concurrency ${c} (medians of rounds)`);
    lines.push(
      formatTable([
        ['target', 'p50 ms', 'p99 ms', 'calls/s', '+p50 vs direct', 'x direct calls/s'],
        ...at.map((r) => [
          r.target,
          r.p50,
          r.p99,
          r.perSecond,
          direct ? r.p50 - direct.p50 : Number.NaN,
          direct ? r.perSecond / direct.perSecond : Number.NaN,
        ]),
      ]),
    );
    if (proxy && viaStdio) {
      lines.push(
        `bulkhead vs mcp-proxy (both → stdio): p50 ${(viaStdio.p50 / proxy.p50).toFixed(2)}x, throughput ${(viaStdio.perSecond / proxy.perSecond).toFixed(2)}x`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const roundsArg = process.argv.indexOf('--rounds');
  const rows = await run({ rounds: roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3 });
  process.stdout.write(print(rows));
}
