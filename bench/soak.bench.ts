/**
 * Soak: does the gateway's memory stay flat over a long run? Calls `echo`
 * through the gateway (HTTP upstream, full pipeline, SQLite audit trail) from
 * a few long-lived agent sessions, and every `--every` calls asks the gateway
 * child for its heap and RSS after a full GC (`--expose-gc`, SIGUSR2).
 *
 * Fails when the heap after GC grows by more than `--max-heap-mb` (default
 * 8 MB) from the first sample after warm-up to the last: one leaked KB per
 * call would be 100 MB over 100,000 calls. RSS is reported, not judged (the
 * allocator returns memory to the OS lazily).
 *
 *   npx tsx bench/soak.bench.ts [--calls 100000] [--clients 4] [--every 10000] [--max-heap-mb 8]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { gatewayMemory } from './lib/gateway-memory.js';
import { type Child, startChild } from './lib/proc.js';
import { formatTable } from './lib/stats.js';
import { type Target, targetOn } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1024 * 1024;

export interface SoakOptions {
  calls?: number;
  clients?: number;
  every?: number;
  maxHeapMb?: number;
  log?: (line: string) => void;
}

export interface MemorySample {
  calls: number;
  heapMb: number;
  rssMb: number;
  sessions: number;
  /** Entries the SDK transports still hold (JSON-mode per-request entries leaked here before). */
  retained: number | null;
}

export interface SoakResult {
  samples: MemorySample[];
  calls: number;
  clients: number;
  seconds: number;
  heapGrowthMb: number;
  rssGrowthMb: number;
  maxHeapMb: number;
  passed: boolean;
}

function policy(upstreamUrl: string): string {
  return `version: 1
store: { sqlite: ./soak.db }
upstreams:
  http:
    url: ${upstreamUrl}
tools:
  http:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
profiles:
  bench:
    tools: [http__echo]
    loop_guard: { identical_calls: 1000000 }
`;
}

async function sample(gateway: Child<unknown>, dir: string, calls: number): Promise<MemorySample> {
  const mem = await gatewayMemory(gateway.process, dir);
  return {
    calls,
    heapMb: mem.heapUsed / MB,
    rssMb: mem.rss / MB,
    sessions: mem.sessions,
    retained: mem.retained ?? null,
  };
}

export async function run(options: SoakOptions = {}): Promise<SoakResult> {
  const calls = Math.max(1_000, options.calls ?? 100_000);
  const clients = Math.max(1, Math.min(options.clients ?? 4, 32));
  const every = Math.max(500, options.every ?? 10_000);
  const maxHeapMb = options.maxHeapMb ?? 8;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-soak-'));
  const children: Child<unknown>[] = [];
  const agents: Client[] = [];
  try {
    const upstream = await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], {
      cwd: ROOT,
    });
    children.push(upstream);
    writeFileSync(join(dir, 'policy.yaml'), policy(`http://127.0.0.1:${upstream.ready}/mcp`));
    const gateway = await startChild<{ url: string; tokens: string[] }>(
      join(ROOT, 'bench/lib/gateway-child.ts'),
      [join(dir, 'policy.yaml'), String(clients)],
      { cwd: ROOT, nodeArgs: ['--expose-gc'] },
    );
    children.push(gateway);
    for (const token of gateway.ready.tokens) {
      const client = new Client({ name: 'soak', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${gateway.ready.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      agents.push(client);
    }
    let done = 0;
    let sequence = 0;
    const call = async (client: Client) => {
      // Unique arguments: the loop guard keeps a key per distinct call, which must not pile up.
      const result = await client.callTool({ name: 'http__echo', arguments: { message: `s${sequence++}` } });
      if (result.isError) throw new Error(`refused: ${JSON.stringify(result.content)}`);
    };
    const burst = async (n: number) => {
      let left = n;
      await Promise.all(
        agents.map(async (client) => {
          while (left > 0) {
            left--;
            await call(client);
          }
        }),
      );
      done += n;
    };
    // Warm-up (JIT, caches, SQLite pages) before the baseline sample.
    await burst(Math.min(2_000, every));
    done = 0;
    const samples: MemorySample[] = [await sample(gateway, dir, 0)];
    const started = performance.now();
    while (done < calls) {
      await burst(Math.min(every, calls - done));
      const s = await sample(gateway, dir, done);
      samples.push(s);
      // The rate says how much of a loaded machine the run saw: what a window of calls holds grows with it.
      const rate = done / ((performance.now() - started) / 1000);
      log(
        `soak bench: ${done} calls (${rate.toFixed(0)}/s), heap ${s.heapMb.toFixed(1)} MB, rss ${s.rssMb.toFixed(1)} MB, ` +
          `sessions ${s.sessions}, retained ${s.retained ?? '?'}`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const first = samples[0] as MemorySample;
    const last = samples[samples.length - 1] as MemorySample;
    const heapGrowthMb = last.heapMb - first.heapMb;
    return {
      samples,
      calls: done,
      clients,
      seconds,
      heapGrowthMb,
      rssGrowthMb: last.rssMb - first.rssMb,
      maxHeapMb,
      passed: heapGrowthMb <= maxHeapMb,
    };
  } finally {
    await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
    for (const child of children.reverse()) await child.stop(5_000).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function print(result: SoakResult): string {
  const lines = [
    `soak: ${result.calls} tools/call through the gateway (HTTP upstream, full pipeline) from ${result.clients} sessions in ${result.seconds.toFixed(0)} s (${(result.calls / result.seconds).toFixed(0)} calls/s, GC samples included)`,
    formatTable([
      ['calls', 'heap after GC MB', 'RSS MB', 'sessions', 'SDK entries held'],
      ...result.samples.map((s) => [
        String(s.calls),
        s.heapMb,
        s.rssMb,
        String(s.sessions),
        String(s.retained ?? '?'),
      ]),
    ]),
    `heap growth ${result.heapGrowthMb.toFixed(2)} MB (bound ${result.maxHeapMb} MB): ${result.passed ? 'flat' : 'NOT FLAT'}; ` +
      `RSS growth ${result.rssGrowthMb.toFixed(1)} MB`,
  ];
  if (!result.passed) throw new Error(lines.join('\n'));
  return lines.join('\n');
}

export function targets(result: SoakResult): Target[] {
  return [
    targetOn(
      `MCP soak: heap after GC grows ≤ ${result.maxHeapMb} MB over ${result.calls.toLocaleString('en')} calls (target 100,000)`,
      result.calls >= 100_000 ? result.heapGrowthMb : Number.NaN,
      ' MB',
      (v) => v <= result.maxHeapMb,
    ),
  ];
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const num = (name: string) => (argValue(name) === undefined ? undefined : Number(argValue(name)));
  const result = await run({
    ...(num('--calls') !== undefined ? { calls: num('--calls') } : {}),
    ...(num('--clients') !== undefined ? { clients: num('--clients') } : {}),
    ...(num('--every') !== undefined ? { every: num('--every') } : {}),
    ...(num('--max-heap-mb') !== undefined ? { maxHeapMb: num('--max-heap-mb') } : {}),
  });
  try {
    process.stdout.write(`${print(result)}\n`);
  } catch (error) {
    process.stdout.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
