/**
 * Noisy neighbours: one agent's huge or pathological tool output must not
 * stall everyone else. A quiet agent calls `echo` in sequence while, in
 * turn, nobody else works (the baseline), a noisy agent keeps asking for a
 * 9 MB result (truncated to its cap by the gateway), and a noisy agent keeps
 * asking for 4 MB of `token=` repeated (the scrubber's worst case). Blocks
 * are interleaved round by round so machine noise hits all alike; the quiet
 * agent's p99 under each neighbour is compared with its p99 alone (target:
 * within 2×). The noisy calls' own rate gives the inspection throughput.
 *
 * By default both agents call the same upstream process, as they would one
 * shared server: the quiet `echo` then also waits behind that server's own
 * work on the 9 MB (which no gateway can take from it). `--quiet-upstream
 * separate` gives the quiet agent an upstream process of its own, so what is
 * left is what the gateway (and the machine's cores) cost it. The upstream's
 * CPU per noisy call is reported beside the gateway's.
 *
 * `--against REF` runs the gateway at a git ref beside this tree's (both
 * compiled), their blocks interleaved, for a like-for-like comparison on a
 * loaded machine.
 *
 *   npx tsx bench/neighbours.bench.ts [--rounds 3] [--calls 300] [--quiet-upstream shared|separate] [--against REF]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type BuiltRef, buildRef, buildWorkingTree } from './lib/build-ref.js';
import { type Child, startChild } from './lib/proc.js';
import { formatTable, median, percentile } from './lib/stats.js';
import { type Target, targetOn } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1024 * 1024;

const NEIGHBOURS = {
  alone: undefined,
  '9 MB result': { name: 'http__blob', bytes: 9 * MB },
  '4 MB of token=': { name: 'http__hostile', bytes: 4 * MB },
} as const;
type Neighbour = keyof typeof NEIGHBOURS;

export interface NeighboursResult {
  rounds: number;
  calls: number;
  /** Whether the quiet agent's `echo` runs in the noisy agent's upstream process or in one of its own. */
  quietUpstream: QuietUpstream;
  /** With `--against`: the same figures for the gateway at that ref, its blocks interleaved with this tree's. */
  against?: { ref: string; commit: string; rows: NeighboursResult['rows'] };
  rows: {
    neighbour: Neighbour;
    p50: number;
    p99: number;
    /** The quiet agent's p99 over its p99 alone, medians over rounds. */
    p99Ratio: number;
    /** Noisy calls completed per second, and the answer bytes they moved per second. */
    noisyPerSecond: number;
    noisyMBps: number;
    /**
     * CPU time of the gateway's main thread (the event loop every agent shares) per noisy call,
     * beyond what the quiet calls cost it alone: what one neighbour's call takes from the others.
     * CPU time, unlike latency, barely moves with other load on the machine.
     */
    mainCpuMsPerNoisyCall: number;
    /** The same for the gateway's other threads (inspection workers, GC helpers). */
    otherCpuMsPerNoisyCall: number;
    /** The noisy agent's upstream process (all threads) per noisy call: producing the answer. */
    upstreamCpuMsPerNoisyCall: number;
  }[];
}

export type QuietUpstream = 'shared' | 'separate';

function policy(upstreamUrl: string, quietUrl: string | undefined): string {
  return `version: 1
store: { sqlite: ./neighbours.db }
upstreams:
  http:
    url: ${upstreamUrl}
    max_message: 64MB
${quietUrl ? `  quiet:\n    url: ${quietUrl}\n` : ''}tools:
  http:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
    blob: { class: read, max_output: 256KB }
    hostile: { class: read, max_output: 8MB }
${quietUrl ? '  quiet:\n    echo: { class: read, arguments: { message: { maxLength: 100 } } }\n' : ''}profiles:
  bench:
    tools: [http__echo, http__blob, http__hostile${quietUrl ? ', quiet__echo' : ''}]
    loop_guard: { identical_calls: 1000000 }
    budgets: { tool_calls: 10000000 }
`;
}

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'neighbours-bench', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** The quiet agent's latencies over `calls` sequential calls, while `noisy` loops beside it. */
/** CPU ms of a process's main thread and of all its other threads, from /proc (Linux). */
function threadCpuMs(pid: number): { main: number; other: number } {
  const ticks = (file: string) => {
    // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]);
  };
  const hz = 100;
  let main = 0;
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const t = ticks(`/proc/${pid}/task/${tid}/stat`);
      all += t;
      if (tid === String(pid)) main = t;
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return { main: (main * 1000) / hz, other: ((all - main) * 1000) / hz };
}

async function block(
  quiet: Client,
  noisy: Client,
  neighbour: Neighbour,
  calls: number,
  pids: { gateway: number; upstream: number },
  quietTool: string,
): Promise<{
  latencies: number[];
  noisyCalls: number;
  noisyBytes: number;
  seconds: number;
  cpu: { main: number; other: number; upstream: number };
}> {
  const spec = NEIGHBOURS[neighbour];
  let stop = false;
  let noisyCalls = 0;
  let noisyBytes = 0;
  const noise = (async () => {
    while (spec && !stop) {
      const result = await noisy.callTool({ name: spec.name, arguments: { bytes: spec.bytes } }, undefined, {
        timeout: 120_000,
      });
      if (result.isError) throw new Error(`noisy call refused: ${JSON.stringify(result).slice(0, 300)}`);
      noisyCalls++;
      noisyBytes += spec.bytes;
    }
  })();
  // Let the neighbour get going before measuring.
  if (spec) await new Promise((r) => setTimeout(r, 300));
  const latencies: number[] = [];
  const started = performance.now();
  const cpuBefore = threadCpuMs(pids.gateway);
  const upstreamBefore = threadCpuMs(pids.upstream);
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const result = await quiet.callTool({ name: quietTool, arguments: { message: `q${i}` } });
    latencies.push(performance.now() - t0);
    if (result.isError) throw new Error(`quiet call refused: ${JSON.stringify(result).slice(0, 300)}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = threadCpuMs(pids.gateway);
  const upstreamAfter = threadCpuMs(pids.upstream);
  stop = true;
  await noise;
  return {
    latencies,
    noisyCalls,
    noisyBytes,
    seconds,
    cpu: {
      main: cpuAfter.main - cpuBefore.main,
      other: cpuAfter.other - cpuBefore.other,
      upstream: upstreamAfter.main + upstreamAfter.other - upstreamBefore.main - upstreamBefore.other,
    },
  };
}

type Figures = {
  p50: number[];
  p99: number[];
  rate: number[];
  mbps: number[];
  /** Per block: CPU ms of the main thread and of the others, quiet calls and noisy calls. */
  cpu: { main: number; other: number; upstream: number; quiet: number; noisy: number }[];
};

/** One gateway under test, with its two agents. */
interface Contender {
  quiet: Client;
  noisy: Client;
  pids: { gateway: number; upstream: number };
  per: Record<Neighbour, Figures>;
}

function rowsOf(per: Record<Neighbour, Figures>): NeighboursResult['rows'] {
  const aloneP99 = median(per.alone.p99);
  // The quiet calls' own cost per call, from the blocks alone; the rest of a block is the neighbour's.
  const alone = per.alone.cpu;
  const quietCalls = Math.max(
    1,
    alone.reduce((a, c) => a + c.quiet, 0),
  );
  const quietCost = (which: 'main' | 'other' | 'upstream') =>
    alone.reduce((a, c) => a + c[which], 0) / quietCalls;
  const perNoisyCall = (cpu: Figures['cpu'], which: 'main' | 'other' | 'upstream') => {
    const noisy = cpu.reduce((a, c) => a + c.noisy, 0);
    if (noisy === 0) return 0;
    const own = quietCost(which);
    return cpu.reduce((a, c) => a + c[which] - c.quiet * own, 0) / noisy;
  };
  return (Object.keys(NEIGHBOURS) as Neighbour[])
    .filter((neighbour) => per[neighbour].p99.length > 0)
    .map((neighbour) => ({
      neighbour,
      p50: median(per[neighbour].p50),
      p99: median(per[neighbour].p99),
      p99Ratio: median(per[neighbour].p99) / aloneP99,
      noisyPerSecond: median(per[neighbour].rate),
      noisyMBps: median(per[neighbour].mbps),
      mainCpuMsPerNoisyCall: perNoisyCall(per[neighbour].cpu, 'main'),
      otherCpuMsPerNoisyCall: perNoisyCall(per[neighbour].cpu, 'other'),
      upstreamCpuMsPerNoisyCall: perNoisyCall(per[neighbour].cpu, 'upstream'),
    }));
}

export async function run(
  options: {
    rounds?: number;
    calls?: number;
    only?: Neighbour;
    profileDir?: string;
    quietUpstream?: QuietUpstream;
    /** A git ref whose gateway runs beside this tree's, blocks interleaved (both compiled). */
    against?: string;
  } = {},
): Promise<NeighboursResult> {
  const rounds = options.rounds ?? 3;
  const quietUpstream = options.quietUpstream ?? 'shared';
  const calls = options.calls ?? 300;
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-neighbours-'));
  const children: Child<unknown>[] = [];
  const clients: Client[] = [];
  try {
    const upstream = await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], {
      cwd: ROOT,
    });
    children.push(upstream);
    const own =
      quietUpstream === 'separate'
        ? await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], { cwd: ROOT })
        : undefined;
    if (own) children.push(own);
    const policyText = policy(
      `http://127.0.0.1:${upstream.ready}/mcp`,
      own ? `http://127.0.0.1:${own.ready}/mcp` : undefined,
    );
    const quietTool = own ? 'quiet__echo' : 'http__echo';
    // With --against, both gateways run compiled (tsc) code, each with its own store.
    let built: { current: string; ref: BuiltRef } | undefined;
    if (options.against) {
      process.stderr.write(`neighbours bench: compiling this tree and ${options.against}\n`);
      const [current, ref] = await Promise.all([
        buildWorkingTree(ROOT),
        buildRef(ROOT, options.against, join(dir, 'ref-tree')),
      ]);
      built = { current, ref };
    }
    const figures = (): Figures => ({ p50: [], p99: [], rate: [], mbps: [], cpu: [] });
    const start = async (name: string, from: string | undefined): Promise<Contender> => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'policy.yaml'), policyText);
      const gateway = await startChild<{ url: string; tokens: string[] }>(
        join(ROOT, 'bench/lib/gateway-child.ts'),
        [join(dir, name, 'policy.yaml'), '2'],
        {
          cwd: ROOT,
          timeoutMs: 120_000,
          ...(options.profileDir && name === 'tree'
            ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--cpu-prof-interval=200'] }
            : {}),
          ...(from ? { env: { BENCH_GATEWAY_FROM: from } } : {}),
        },
      );
      children.push(gateway);
      const [quietToken, noisyToken] = gateway.ready.tokens as [string, string];
      const quiet = await connect(gateway.ready.url, quietToken);
      const noisy = await connect(gateway.ready.url, noisyToken);
      clients.push(quiet, noisy);
      const pids = { gateway: gateway.process.pid as number, upstream: upstream.process.pid as number };
      await block(quiet, noisy, 'alone', 50, pids, quietTool); // warm-up
      return {
        quiet,
        noisy,
        pids,
        per: { alone: figures(), '9 MB result': figures(), '4 MB of token=': figures() },
      };
    };
    const contenders: [string, Contender][] = [['tree', await start('tree', built?.current)]];
    if (built) contenders.push([built.ref.ref, await start('ref', built.ref.src)]);
    for (let round = 1; round <= rounds; round++) {
      // Each contender's blocks next to each other, the order alternating by round.
      const order = round % 2 === 1 ? contenders : [...contenders].reverse();
      for (const neighbour of Object.keys(NEIGHBOURS) as Neighbour[]) {
        if (options.only && neighbour !== 'alone' && neighbour !== options.only) continue;
        for (const [name, c] of order) {
          const b = await block(c.quiet, c.noisy, neighbour, calls, c.pids, quietTool);
          const sorted = [...b.latencies].sort((x, y) => x - y);
          const entry = c.per[neighbour];
          entry.p50.push(percentile(sorted, 50));
          entry.p99.push(percentile(sorted, 99));
          entry.rate.push(b.noisyCalls / b.seconds);
          entry.mbps.push(b.noisyBytes / MB / b.seconds);
          entry.cpu.push({ ...b.cpu, quiet: calls, noisy: b.noisyCalls });
          process.stderr.write(
            `neighbours bench: round ${round}/${rounds} ${built ? `${name} ` : ''}${neighbour}: quiet p50 ${percentile(sorted, 50).toFixed(2)} ms, ` +
              `p99 ${percentile(sorted, 99).toFixed(2)} ms; noisy ${b.noisyCalls} calls in ${b.seconds.toFixed(1)} s\n`,
          );
        }
      }
    }
    const [, tree] = contenders[0] as [string, Contender];
    const ref = contenders[1];
    return {
      rounds,
      calls,
      quietUpstream,
      rows: rowsOf(tree.per),
      ...(built && ref
        ? { against: { ref: built.ref.ref, commit: built.ref.commit, rows: rowsOf(ref[1].per) } }
        : {}),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    for (const child of children.reverse()) await child.stop(5_000).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(rows: NeighboursResult['rows']): string {
  return formatTable([
    [
      'neighbour',
      'quiet p50 ms',
      'quiet p99 ms',
      '× p99 alone',
      'noisy calls/s',
      'noisy MB/s',
      'main-thread CPU ms / noisy call',
      'other threads CPU ms / noisy call',
      'upstream CPU ms / noisy call',
    ],
    ...rows.map((r) => [
      r.neighbour,
      r.p50,
      r.p99,
      `${r.p99Ratio.toFixed(2)}×`,
      r.neighbour === 'alone' ? '–' : r.noisyPerSecond.toFixed(2),
      r.neighbour === 'alone' ? '–' : r.noisyMBps.toFixed(1),
      r.neighbour === 'alone' ? '–' : r.mainCpuMsPerNoisyCall.toFixed(1),
      r.neighbour === 'alone' ? '–' : r.otherCpuMsPerNoisyCall.toFixed(1),
      r.neighbour === 'alone' ? '–' : r.upstreamCpuMsPerNoisyCall.toFixed(1),
    ]),
  ]);
}

export function print(result: NeighboursResult): string {
  const head = `neighbours: a quiet agent's ${result.calls} sequential echo calls per block (upstream ${result.quietUpstream} with the noisy agent), medians of ${result.rounds} interleaved rounds`;
  if (!result.against) return [head, table(result.rows)].join('\n');
  return [
    head,
    'this tree:',
    table(result.rows),
    `${result.against.ref} (${result.against.commit.slice(0, 10)}), blocks interleaved with this tree's:`,
    table(result.against.rows),
  ].join('\n');
}

export function targets(result: NeighboursResult): Target[] {
  return result.rows
    .filter((r) => r.neighbour !== 'alone')
    .map((r) =>
      targetOn(
        `others' p99 beside a neighbour's ${r.neighbour} ≤ 2× alone${result.quietUpstream === 'separate' ? ' (own upstream)' : ''}`,
        r.p99Ratio,
        '×',
        (v) => v <= 2,
      ),
    );
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await run({
    rounds: Number(argValue('--rounds') ?? 3),
    calls: Number(argValue('--calls') ?? 300),
    ...(argValue('--only') ? { only: argValue('--only') as Neighbour } : {}),
    ...(argValue('--quiet-upstream') ? { quietUpstream: argValue('--quiet-upstream') as QuietUpstream } : {}),
    ...(argValue('--against') ? { against: argValue('--against') as string } : {}),
    ...(argValue('--cpu-prof-dir') ? { profileDir: resolve(argValue('--cpu-prof-dir') as string) } : {}),
  });
  process.stdout.write(`${print(result)}\n`);
  for (const t of targets(result))
    process.stdout.write(`${t.target}: ${t.measured} (${t.met ? 'met' : 'NOT met'})\n`);
}
