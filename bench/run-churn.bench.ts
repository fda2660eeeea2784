/**
 * Run churn: does a gateway that serves run after run for weeks stay flat? Each run is created
 * (`POST /api/runs`, what `bulkhead run` does) and completed at once, one after another, and
 * every `--every` runs the gateway child reports its heap after GC. The gateway mints a token per
 * run and its scrubber learns it; a scrubber that never let one go made each new run rebuild more
 * (20,000 runs in a loop: 19 ms per run on average, 4.6 s for the largest, heap +50 MB).
 * `--against REF` runs REF's gateway beside this tree's, blocks interleaved.
 *
 * `--work`: each run also opens an MCP session, makes one call and drops the client, as an agent
 * does (the SDK's close() sends no DELETE), so what a run leaves behind in sessions shows too.
 *
 *   npx tsx bench/run-churn.bench.ts [--runs 10000] [--every 1000] [--work] [--against REF]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { buildRef } from './lib/build-ref.js';
import { gatewayMemory } from './lib/gateway-memory.js';
import { type Child, startChild } from './lib/proc.js';
import { formatTable, percentile } from './lib/stats.js';
import { type Target, targetOn } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1024 * 1024;

export interface ChurnOptions {
  runs?: number;
  /** Each run also opens an MCP session (the SDK's client), makes one call and drops it, as agents do. */
  work?: boolean;
  every?: number;
  against?: string;
  maxHeapMb?: number;
  log?: (line: string) => void;
}

export interface ChurnBlock {
  /** Runs created so far (after warm-up). */
  runs: number;
  /** MCP sessions the gateway still holds. */
  sessions: number;
  heapMb: number;
  rssMb: number;
  createP50Ms: number;
  createP99Ms: number;
  createMaxMs: number;
}

export interface ChurnContender {
  name: string;
  blocks: ChurnBlock[];
  heapGrowthMb: number;
  /** Create p50 of the last block ÷ that of the first. */
  p50Growth: number;
  /** The longest create of the last block ÷ that of the first. */
  maxGrowth: number;
}

export interface ChurnResult {
  runs: number;
  work: boolean;
  every: number;
  maxHeapMb: number;
  contenders: ChurnContender[];
  load: [number, number];
}

const policy = (upstream: string | undefined) =>
  upstream
    ? `version: 1
store: { sqlite: ./churn.db }
upstreams:
  http:
    url: ${upstream}
tools:
  http:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
profiles:
  bench:
    tools: [http__echo]
`
    : 'version: 1\nstore: { sqlite: ./churn.db }\nupstreams: {}\nprofiles:\n  bench:\n    tools: []\n';

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function post(
  url: URL,
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolvePost, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            resolvePost({
              status: res.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            });
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

interface Gateway {
  name: string;
  dir: string;
  child: Child<{ url: string }>;
  url: URL;
  operator: string;
  created: number;
}

async function startGateway(
  name: string,
  dir: string,
  from: string | undefined,
  upstream: string | undefined,
): Promise<Gateway> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'policy.yaml'), policy(upstream));
  const child = await startChild<{ url: string }>(
    join(ROOT, 'bench/lib/gateway-child.ts'),
    [join(dir, 'policy.yaml'), '0'],
    { cwd: ROOT, nodeArgs: ['--expose-gc'], ...(from ? { env: { BENCH_GATEWAY_FROM: from } } : {}) },
  );
  const url = new URL(child.ready.url);
  const operator = readFileSync(join(dir, 'home', `gateway-${url.port}.token`), 'utf8').trim();
  return { name, dir, child, url, operator, created: 0 };
}

/** An agent's whole stay: a session opened, one call, the client closed (which sends no DELETE). */
async function agentStay(g: Gateway, token: string, i: number): Promise<void> {
  const client = new Client({ name: 'churn', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', g.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  const result = await client.callTool({ name: 'http__echo', arguments: { message: `run ${i}` } });
  await client.close();
  if (result.isError) throw new Error(`${g.name}: the call was refused: ${JSON.stringify(result.content)}`);
}

/** Creates and completes `n` runs one after another; the creates' latencies in ms. */
async function churn(g: Gateway, n: number, work: boolean): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const created = await post(g.url, '/api/runs', g.operator, { profile: 'bench' });
    latencies.push(performance.now() - started);
    const { run_id: id, token } = created.json as { run_id?: string; token?: string };
    if (created.status !== 201 && created.status !== 200)
      throw new Error(`${g.name}: create ${created.status}`);
    if (!id || !token) throw new Error(`${g.name}: no run id in ${JSON.stringify(created.json)}`);
    if (work) await agentStay(g, token, g.created + i);
    const done = await post(g.url, `/api/runs/${id}/complete`, g.operator, { exit_code: 0 });
    if (done.status !== 200) throw new Error(`${g.name}: complete ${done.status}`);
  }
  g.created += n;
  return latencies;
}

async function block(g: Gateway, latencies: number[]): Promise<ChurnBlock> {
  const mem = await gatewayMemory(g.child.process, g.dir);
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    runs: g.created,
    sessions: mem.sessions,
    heapMb: mem.heapUsed / MB,
    rssMb: mem.rss / MB,
    createP50Ms: percentile(sorted, 50),
    createP99Ms: percentile(sorted, 99),
    createMaxMs: sorted[sorted.length - 1] ?? 0,
  };
}

export async function run(options: ChurnOptions = {}): Promise<ChurnResult> {
  const runs = Math.max(1_000, options.runs ?? 10_000);
  const every = Math.max(200, options.every ?? 1_000);
  const maxHeapMb = options.maxHeapMb ?? 8;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-churn-'));
  const load: [number, number] = [loadavg()[0] ?? 0, 0];
  const gateways: Gateway[] = [];
  const work = options.work === true;
  let upstream: Child<number> | undefined;
  try {
    if (work) {
      upstream = await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], { cwd: ROOT });
    }
    const upstreamUrl = upstream ? `http://127.0.0.1:${upstream.ready}/mcp` : undefined;
    gateways.push(
      await startGateway('this tree', join(dir, 'this'), process.env.BENCH_GATEWAY_FROM, upstreamUrl),
    );
    if (options.against) {
      const built = await buildRef(ROOT, options.against, join(dir, 'against-src'));
      gateways.push(
        await startGateway(
          built.commit.startsWith(options.against)
            ? options.against
            : `${options.against} (${built.commit.slice(0, 7)})`,
          join(dir, 'against'),
          built.src,
          upstreamUrl,
        ),
      );
    }
    const blocks = new Map<Gateway, ChurnBlock[]>();
    for (const g of gateways) {
      await churn(g, 200, work); // warm-up: JIT, SQLite pages
      g.created = 0;
      blocks.set(g, [await block(g, [])]);
    }
    while ((gateways[0] as Gateway).created < runs) {
      for (const g of gateways) {
        const b = await block(g, await churn(g, Math.min(every, runs - g.created), work));
        blocks.get(g)?.push(b);
        log(
          `run-churn bench: ${g.name}: ${b.runs} runs, create p50 ${b.createP50Ms.toFixed(2)} ms, ` +
            `p99 ${b.createP99Ms.toFixed(2)} ms, max ${b.createMaxMs.toFixed(0)} ms, heap ${b.heapMb.toFixed(1)} MB, ` +
            `sessions ${b.sessions}`,
        );
      }
    }
    load[1] = loadavg()[0] ?? 0;
    return {
      runs,
      work,
      every,
      maxHeapMb,
      load,
      contenders: gateways.map((g) => {
        const list = blocks.get(g) ?? [];
        const first = list[0] as ChurnBlock;
        const last = list[list.length - 1] as ChurnBlock;
        const firstTimed = list[1] as ChurnBlock;
        return {
          name: g.name,
          blocks: list,
          heapGrowthMb: last.heapMb - first.heapMb,
          p50Growth: last.createP50Ms / firstTimed.createP50Ms,
          maxGrowth: last.createMaxMs / firstTimed.createMaxMs,
        };
      }),
    };
  } finally {
    for (const g of gateways) await g.child.stop(5_000).catch(() => undefined);
    await upstream?.stop(5_000).catch(() => undefined);
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function print(result: ChurnResult): string {
  const lines = [
    `run churn: ${result.runs.toLocaleString('en')} runs created and completed one after another per gateway` +
      `${result.work ? ', each with an MCP session and one call (the client closed, no DELETE)' : ''}, ` +
      `blocks of ${result.every} interleaved; load ${result.load[0].toFixed(2)} → ${result.load[1].toFixed(2)}`,
  ];
  for (const c of result.contenders) {
    lines.push(
      '',
      c.name,
      formatTable([
        ['runs', 'create p50 ms', 'create p99 ms', 'create max ms', 'heap after GC MB', 'RSS MB', 'sessions'],
        ...c.blocks.map((b) => [
          String(b.runs),
          b.createP50Ms,
          b.createP99Ms,
          b.createMaxMs,
          b.heapMb,
          b.rssMb,
          String(b.sessions),
        ]),
      ]),
      `heap growth ${c.heapGrowthMb.toFixed(2)} MB (bound ${result.maxHeapMb} MB); create p50, last block ÷ first: ${c.p50Growth.toFixed(2)}×, longest create: ${c.maxGrowth.toFixed(2)}×`,
    );
  }
  return lines.join('\n');
}

export function targets(result: ChurnResult): Target[] {
  const ours = result.contenders[0] as ChurnContender;
  const full = result.runs >= 10_000;
  return [
    targetOn(
      `run churn: heap after GC grows ≤ ${result.maxHeapMb} MB over ${result.runs.toLocaleString('en')} runs (target 10,000)`,
      full ? ours.heapGrowthMb : Number.NaN,
      ' MB',
      (v) => v <= result.maxHeapMb,
    ),
    targetOn(
      'run churn: create p50 of the last 1,000 runs ≤ 1.5× that of the first 1,000',
      full ? ours.p50Growth : Number.NaN,
      '×',
      (v) => v <= 1.5,
    ),
  ];
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const num = (name: string) => (argValue(name) === undefined ? undefined : Number(argValue(name)));
  const against = argValue('--against');
  const result = await run({
    ...(num('--runs') !== undefined ? { runs: num('--runs') } : {}),
    ...(num('--every') !== undefined ? { every: num('--every') } : {}),
    ...(num('--max-heap-mb') !== undefined ? { maxHeapMb: num('--max-heap-mb') } : {}),
    ...(against ? { against } : {}),
    work: process.argv.includes('--work'),
  });
  process.stdout.write(`${print(result)}\n`);
}
