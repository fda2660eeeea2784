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
 * The quiet agent alternates its calls between two upstreams: the noisy
 * agent's own process (`shared`, as two agents of one server would), where
 * its `echo` also waits behind that server's own work on the 9 MB, which no
 * gateway can take from it; and an upstream process of its own (`own`), where
 * what is left is what the gateway (and the machine's cores) cost it. Both
 * come from the same blocks, so the same noise hits them. The upstream's CPU
 * per noisy call and its busy share (that CPU times the noisy calls per
 * second) are reported beside the gateway's. Both agents also run with no
 * gateway at all (`direct`, blocks interleaved with the others): what the
 * upstream alone does to the quiet agent. The noisy agent is always a
 * process of its own (lib/noisy-agent.ts).
 *
 * `--against REF` runs the gateway at a git ref beside this tree's (both
 * compiled), their blocks interleaved, for a like-for-like comparison on a
 * loaded machine.
 *
 *   npx tsx bench/neighbours.bench.ts [--rounds 3] [--calls 300] [--against REF]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type BuiltRef, buildRef, buildWorkingTree } from './lib/build-ref.js';
import { type Child, startChild } from './lib/proc.js';
import { formatTable, median, percentile } from './lib/stats.js';
import { type Target, targetOn, withFloor } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1024 * 1024;

/** What the noisy agent calls: the upstream's tool (through a gateway, `http__` + its name). */
const NEIGHBOURS = {
  alone: undefined,
  '9 MB result': { name: 'blob', bytes: 9 * MB },
  '4 MB of token=': { name: 'hostile', bytes: 4 * MB },
} as const;
type Neighbour = keyof typeof NEIGHBOURS;

export interface NeighboursResult {
  rounds: number;
  calls: number;
  /** With `--against`: the same figures for the gateway at that ref, its blocks interleaved with this tree's. */
  against?: { ref: string; commit: string; rows: NeighboursResult['rows'] };
  /** The same agents straight to the upstreams, no gateway (CPU columns not measured): what the upstream alone does. */
  direct: NeighboursResult['rows'];
  rows: {
    neighbour: Neighbour;
    /** The quiet agent's calls to the noisy agent's upstream process and to one of its own. */
    quiet: Record<QuietUpstream, QuietFigures>;
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
    /**
     * Minor page faults of the gateway's main thread per noisy call (beyond the quiet calls'):
     * fresh memory touched, about 3.5 ms of CPU per MB on this project's hosts (each megabyte
     * string made anew, e.g. by `JSON.parse` or a flattened `JSON.stringify`). Barely moves with load.
     */
    mainFaultsPerNoisyCall: number;
    /** The noisy agent's upstream process (all threads) per noisy call: producing the answer. */
    upstreamCpuMsPerNoisyCall: number;
    /** The share of the time the shared upstream spends on the noisy calls (its CPU × their rate). */
    upstreamBusy: number;
    /**
     * The gateway's main-thread event-loop delay during the block (bench/lib/loop-delay.mjs): the
     * 99th percentile of the longest delay in each 100 ms window, and the longest (medians over
     * rounds; NaN with no gateway). How long the loop every agent shares was held at a stretch.
     */
    loopStallP99Ms: number;
    loopStallMaxMs: number;
  }[];
}

/** Where the quiet agent's `echo` runs: in the noisy agent's upstream process, or in one of its own. */
export type QuietUpstream = 'shared' | 'own';
const QUIET_UPSTREAMS: readonly QuietUpstream[] = ['shared', 'own'];

interface QuietFigures {
  p50: number;
  p99: number;
  /** p99 over the p99 of the same calls with no neighbour, medians over rounds. */
  p99Ratio: number;
}

function policy(upstreamUrl: string, quietUrl: string): string {
  return `version: 1
store: { sqlite: ./neighbours.db }
upstreams:
  http:
    url: ${upstreamUrl}
    max_message: 64MB
  quiet:
    url: ${quietUrl}
tools:
  http:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
    blob: { class: read, max_output: 256KB }
    hostile: { class: read, max_output: 8MB }
  quiet:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
profiles:
  bench:
    tools: [http__echo, http__blob, http__hostile, quiet__echo]
    loop_guard: { identical_calls: 1000000 }
    budgets: { tool_calls: 10000000 }
`;
}

/** An SDK client of the MCP endpoint `url`, with a bearer token when given. */
async function connect(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'neighbours-bench', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(
      new URL(url),
      token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {},
    ),
  );
  return client;
}

/** The noisy agent: a process of its own (lib/noisy-agent.ts) looping on one tool while a block runs. */
interface Noisy {
  start(neighbour: Neighbour): Promise<void>;
  /** Stops it: the calls it had answered since `start`. */
  stop(): Promise<number>;
}

function noisyAgent(
  url: string,
  prefix: string,
  token: string | undefined,
  children: Child<unknown>[],
): Noisy {
  let current: { child: Child<unknown>; calls: number } | undefined;
  return {
    async start(neighbour) {
      const spec = NEIGHBOURS[neighbour];
      if (!spec) return;
      const child = await startChild<unknown>(
        join(ROOT, 'bench/lib/noisy-agent.ts'),
        [url, `${prefix}${spec.name}`, String(spec.bytes), ...(token ? [token] : [])],
        { cwd: ROOT },
      );
      children.push(child);
      const entry = { child, calls: 0 };
      createInterface({ input: child.process.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line === 'c') entry.calls++;
      });
      current = entry;
    },
    async stop() {
      if (!current) return 0;
      const { child, calls } = current;
      current = undefined;
      if (child.process.exitCode !== null)
        throw new Error(`the noisy agent stopped on its own: ${child.stderr()}`);
      await child.stop(5_000);
      return calls;
    },
  };
}

/**
 * CPU ms of a process's main thread and of all its other threads, and the main thread's minor page
 * faults, from /proc (Linux).
 */
function threadCpuMs(pid: number): { main: number; other: number; faults: number } {
  const stat = (file: string) => {
    // Fields after the command (which may hold spaces): minflt is the 8th, utime and stime the 12th
    // and 13th.
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return { ticks: Number(fields[11]) + Number(fields[12]), faults: Number(fields[7]) };
  };
  const hz = 100;
  let main = 0;
  let all = 0;
  let faults = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const t = stat(`/proc/${pid}/task/${tid}/stat`);
      all += t.ticks;
      if (tid === String(pid)) {
        main = t.ticks;
        faults = t.faults;
      }
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return { main: (main * 1000) / hz, other: ((all - main) * 1000) / hz, faults };
}

/**
 * The quiet agent's latencies over `calls` sequential calls to each upstream (alternating), while
 * the noisy agent loops beside it.
 */
async function block(
  c: Contender,
  neighbour: Neighbour,
  calls: number,
): Promise<{
  latencies: Record<QuietUpstream, number[]>;
  noisyCalls: number;
  noisyBytes: number;
  seconds: number;
  cpu: { main: number; other: number; upstream: number; faults: number };
  loop: { p99: number; max: number };
}> {
  const spec = NEIGHBOURS[neighbour];
  await c.noisy.start(neighbour);
  // Let the neighbour get going before measuring.
  if (spec) await new Promise((r) => setTimeout(r, 300));
  const latencies: Record<QuietUpstream, number[]> = { shared: [], own: [] };
  const started = performance.now();
  const startedAt = Date.now();
  const none = { main: 0, other: 0, faults: 0 };
  const cpuBefore = c.pids.gateway ? threadCpuMs(c.pids.gateway) : none;
  const upstreamBefore = threadCpuMs(c.pids.upstream);
  for (let i = 0; i < 2 * calls; i++) {
    const where = QUIET_UPSTREAMS[i % 2] as QuietUpstream;
    const t0 = performance.now();
    const result = await c.quiet[where].client.callTool({
      name: c.quiet[where].tool,
      arguments: { message: `q${i}` },
    });
    latencies[where].push(performance.now() - t0);
    if (result.isError) throw new Error(`quiet call refused: ${JSON.stringify(result).slice(0, 300)}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const loop = loopDelay(c.loopDelayFile, startedAt, Date.now());
  const cpuAfter = c.pids.gateway ? threadCpuMs(c.pids.gateway) : none;
  const upstreamAfter = threadCpuMs(c.pids.upstream);
  const noisyCalls = await c.noisy.stop();
  const noisyBytes = noisyCalls * (spec?.bytes ?? 0);
  return {
    latencies,
    noisyCalls,
    noisyBytes,
    seconds,
    cpu: {
      main: cpuAfter.main - cpuBefore.main,
      other: cpuAfter.other - cpuBefore.other,
      faults: cpuAfter.faults - cpuBefore.faults,
      upstream: upstreamAfter.main + upstreamAfter.other - upstreamBefore.main - upstreamBefore.other,
    },
    loop,
  };
}

/** The event-loop delay the gateway wrote (bench/lib/loop-delay.mjs) for the windows ending in [from, to]. */
function loopDelay(file: string | undefined, from: number, to: number): { p99: number; max: number } {
  if (!file) return { p99: Number.NaN, max: Number.NaN };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { p99: Number.NaN, max: Number.NaN };
  }
  const maxima: number[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const w = JSON.parse(line) as { at: number; max: number };
    if (w.at > from && w.at <= to) maxima.push(w.max);
  }
  maxima.sort((a, b) => a - b);
  return maxima.length === 0
    ? { p99: Number.NaN, max: Number.NaN }
    : { p99: percentile(maxima, 99), max: maxima[maxima.length - 1] as number };
}

type Figures = {
  p50: Record<QuietUpstream, number[]>;
  p99: Record<QuietUpstream, number[]>;
  rate: number[];
  mbps: number[];
  /** Per block: CPU ms of the main thread and of the others, quiet calls and noisy calls. */
  cpu: { main: number; other: number; upstream: number; faults: number; quiet: number; noisy: number }[];
  /** Per block: the gateway's event-loop delay (see `loopDelay`). */
  loop: { p99: number; max: number }[];
};

/** One gateway under test (or none: `direct`), with its two agents. */
interface Contender {
  /** The quiet agent's client and tool for each upstream. */
  quiet: Record<QuietUpstream, { client: Client; tool: string }>;
  noisy: Noisy;
  /** No gateway for `direct`. */
  pids: { gateway?: number; upstream: number };
  /** Where the gateway writes its event-loop delay (none for `direct`). */
  loopDelayFile?: string;
  per: Record<Neighbour, Figures>;
}

function rowsOf(per: Record<Neighbour, Figures>): NeighboursResult['rows'] {
  const quietFigures = (figures: Figures, where: QuietUpstream): QuietFigures => ({
    p50: median(figures.p50[where]),
    p99: median(figures.p99[where]),
    p99Ratio: median(figures.p99[where]) / median(per.alone.p99[where]),
  });
  // The quiet calls' own cost per call, from the blocks alone; the rest of a block is the neighbour's.
  const alone = per.alone.cpu;
  const quietCalls = Math.max(
    1,
    alone.reduce((a, c) => a + c.quiet, 0),
  );
  const quietCost = (which: 'main' | 'other' | 'upstream' | 'faults') =>
    alone.reduce((a, c) => a + c[which], 0) / quietCalls;
  const perNoisyCall = (cpu: Figures['cpu'], which: 'main' | 'other' | 'upstream' | 'faults') => {
    const noisy = cpu.reduce((a, c) => a + c.noisy, 0);
    if (noisy === 0) return 0;
    const own = quietCost(which);
    return cpu.reduce((a, c) => a + c[which] - c.quiet * own, 0) / noisy;
  };
  return (Object.keys(NEIGHBOURS) as Neighbour[])
    .filter((neighbour) => per[neighbour].p99.shared.length > 0)
    .map((neighbour) => {
      const figures = per[neighbour];
      const upstreamCpuMsPerNoisyCall = perNoisyCall(figures.cpu, 'upstream');
      return {
        neighbour,
        quiet: { shared: quietFigures(figures, 'shared'), own: quietFigures(figures, 'own') },
        noisyPerSecond: median(figures.rate),
        noisyMBps: median(figures.mbps),
        mainCpuMsPerNoisyCall: perNoisyCall(figures.cpu, 'main'),
        otherCpuMsPerNoisyCall: perNoisyCall(figures.cpu, 'other'),
        mainFaultsPerNoisyCall: perNoisyCall(figures.cpu, 'faults'),
        upstreamCpuMsPerNoisyCall,
        upstreamBusy: (upstreamCpuMsPerNoisyCall * median(figures.rate)) / 1000,
        loopStallP99Ms: median(figures.loop.map((l) => l.p99)),
        loopStallMaxMs: median(figures.loop.map((l) => l.max)),
      };
    });
}

export async function run(
  options: {
    rounds?: number;
    calls?: number;
    only?: Neighbour;
    profileDir?: string;
    /** A git ref whose gateway runs beside this tree's, blocks interleaved (both compiled). */
    against?: string;
  } = {},
): Promise<NeighboursResult> {
  const rounds = options.rounds ?? 3;
  const calls = options.calls ?? 300;
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-neighbours-'));
  const children: Child<unknown>[] = [];
  const clients: Client[] = [];
  try {
    const upstream = await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], {
      cwd: ROOT,
    });
    children.push(upstream);
    const own = await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], { cwd: ROOT });
    children.push(own);
    const policyText = policy(`http://127.0.0.1:${upstream.ready}/mcp`, `http://127.0.0.1:${own.ready}/mcp`);
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
    const figures = (): Figures => ({
      p50: { shared: [], own: [] },
      p99: { shared: [], own: [] },
      rate: [],
      mbps: [],
      cpu: [],
      loop: [],
    });
    const start = async (name: string, from: string | undefined): Promise<Contender> => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'policy.yaml'), policyText);
      const loopDelayFile = join(dir, name, 'loop-delay.jsonl');
      const gateway = await startChild<{ url: string; tokens: string[] }>(
        join(ROOT, 'bench/lib/gateway-child.ts'),
        [join(dir, name, 'policy.yaml'), '2'],
        {
          cwd: ROOT,
          timeoutMs: 120_000,
          nodeArgs: [
            '--import',
            join(ROOT, 'bench/lib/loop-delay.mjs'),
            ...(options.profileDir && name === 'tree'
              ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--cpu-prof-interval=200']
              : []),
          ],
          env: { BENCH_LOOP_DELAY_OUT: loopDelayFile, ...(from ? { BENCH_GATEWAY_FROM: from } : {}) },
        },
      );
      children.push(gateway);
      const [quietToken, noisyToken] = gateway.ready.tokens as [string, string];
      const endpoint = `${gateway.ready.url}/mcp`;
      const quiet = await connect(endpoint, quietToken);
      clients.push(quiet);
      const c: Contender = {
        quiet: { shared: { client: quiet, tool: 'http__echo' }, own: { client: quiet, tool: 'quiet__echo' } },
        noisy: noisyAgent(endpoint, 'http__', noisyToken, children),
        pids: { gateway: gateway.process.pid as number, upstream: upstream.process.pid as number },
        loopDelayFile,
        per: { alone: figures(), '9 MB result': figures(), '4 MB of token=': figures() },
      };
      await block(c, 'alone', 50); // warm-up
      return c;
    };
    /** The same two agents straight to the upstreams. */
    const startDirect = async (): Promise<Contender> => {
      const shared = await connect(`http://127.0.0.1:${upstream.ready}/mcp`);
      const mine = await connect(`http://127.0.0.1:${own.ready}/mcp`);
      clients.push(shared, mine);
      const c: Contender = {
        quiet: { shared: { client: shared, tool: 'echo' }, own: { client: mine, tool: 'echo' } },
        noisy: noisyAgent(`http://127.0.0.1:${upstream.ready}/mcp`, '', undefined, children),
        pids: { upstream: upstream.process.pid as number },
        per: { alone: figures(), '9 MB result': figures(), '4 MB of token=': figures() },
      };
      await block(c, 'alone', 50); // warm-up
      return c;
    };
    const contenders: [string, Contender][] = [
      ['tree', await start('tree', built?.current)],
      ['direct', await startDirect()],
    ];
    if (built) contenders.push([built.ref.ref, await start('ref', built.ref.src)]);
    for (let round = 1; round <= rounds; round++) {
      // Each contender's blocks next to each other, the order alternating by round.
      const order = round % 2 === 1 ? contenders : [...contenders].reverse();
      for (const neighbour of Object.keys(NEIGHBOURS) as Neighbour[]) {
        if (options.only && neighbour !== 'alone' && neighbour !== options.only) continue;
        for (const [name, c] of order) {
          const b = await block(c, neighbour, calls);
          const entry = c.per[neighbour];
          const said: string[] = [];
          for (const where of QUIET_UPSTREAMS) {
            const sorted = [...b.latencies[where]].sort((x, y) => x - y);
            entry.p50[where].push(percentile(sorted, 50));
            entry.p99[where].push(percentile(sorted, 99));
            said.push(
              `${where} p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`,
            );
          }
          entry.rate.push(b.noisyCalls / b.seconds);
          entry.mbps.push(b.noisyBytes / MB / b.seconds);
          entry.cpu.push({ ...b.cpu, quiet: 2 * calls, noisy: b.noisyCalls });
          entry.loop.push(b.loop);
          process.stderr.write(
            `neighbours bench: round ${round}/${rounds} ${name} ${neighbour}: quiet ${said.join('; ')}; ` +
              `noisy ${b.noisyCalls} calls in ${b.seconds.toFixed(1)} s` +
              (c.pids.gateway
                ? `; gateway main thread ${b.cpu.main} ms CPU, ${b.cpu.faults} page faults`
                : '') +
              (Number.isNaN(b.loop.max)
                ? ''
                : `; gateway loop stall p99 ${b.loop.p99.toFixed(1)} ms, max ${b.loop.max.toFixed(1)} ms`) +
              '\n',
          );
        }
      }
    }
    const [[, tree], [, direct], ref] = contenders as [
      [string, Contender],
      [string, Contender],
      ...[string, Contender][],
    ];
    return {
      rounds,
      calls,
      rows: rowsOf(tree.per),
      direct: rowsOf(direct.per),
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

/** `gateway` false: no gateway in the path, so its CPU columns are not measured. */
function table(rows: NeighboursResult['rows'], gateway = true): string {
  const cpu = (r: NeighboursResult['rows'][number], value: number) =>
    r.neighbour === 'alone' || !gateway ? '–' : value.toFixed(1);
  return formatTable([
    [
      'neighbour',
      'shared: quiet p50 ms',
      'p99 ms',
      '× p99 alone',
      'own upstream: quiet p50 ms',
      'p99 ms',
      '× p99 alone',
      'noisy calls/s',
      'noisy MB/s',
      'main-thread CPU ms / noisy call',
      'other threads CPU ms / noisy call',
      'main-thread page faults / noisy call',
      'upstream CPU ms / noisy call',
      'shared upstream busy',
      'gateway loop stall p99 / max ms',
    ],
    ...rows.map((r) => [
      r.neighbour,
      r.quiet.shared.p50,
      r.quiet.shared.p99,
      `${r.quiet.shared.p99Ratio.toFixed(2)}×`,
      r.quiet.own.p50,
      r.quiet.own.p99,
      `${r.quiet.own.p99Ratio.toFixed(2)}×`,
      r.neighbour === 'alone' ? '–' : r.noisyPerSecond.toFixed(2),
      r.neighbour === 'alone' ? '–' : r.noisyMBps.toFixed(1),
      cpu(r, r.mainCpuMsPerNoisyCall),
      cpu(r, r.otherCpuMsPerNoisyCall),
      r.neighbour === 'alone' || !gateway ? '–' : r.mainFaultsPerNoisyCall.toFixed(0),
      r.neighbour === 'alone' ? '–' : r.upstreamCpuMsPerNoisyCall.toFixed(1),
      r.neighbour === 'alone' ? '–' : `${(100 * r.upstreamBusy).toFixed(0)}%`,
      gateway ? `${r.loopStallP99Ms.toFixed(1)} / ${r.loopStallMaxMs.toFixed(1)}` : '–',
    ]),
  ]);
}

export function print(result: NeighboursResult): string {
  const head = `neighbours: a quiet agent's ${2 * result.calls} sequential echo calls per block, alternating between the noisy agent's upstream (shared) and one of its own, medians of ${result.rounds} interleaved rounds`;
  // The upstream's own share of the stall: the same agents with no gateway in the path.
  const versus = result.rows
    .filter((r) => r.neighbour !== 'alone')
    .map((r) => {
      const d = result.direct.find((x) => x.neighbour === r.neighbour);
      return `beside a neighbour's ${r.neighbour}, p99 × alone through bulkhead vs with no gateway: shared upstream ${r.quiet.shared.p99Ratio.toFixed(2)}× vs ${d?.quiet.shared.p99Ratio.toFixed(2)}×, own upstream ${r.quiet.own.p99Ratio.toFixed(2)}× vs ${d?.quiet.own.p99Ratio.toFixed(2)}×`;
    });
  return [
    head,
    'through bulkhead (this tree):',
    table(result.rows),
    'no gateway (the same agents straight to the upstreams, blocks interleaved with the others):',
    table(result.direct, false),
    ...versus,
    ...(result.against
      ? [
          `bulkhead at ${result.against.ref} (${result.against.commit.slice(0, 10)}), blocks interleaved with this tree's:`,
          table(result.against.rows),
        ]
      : []),
  ].join('\n');
}

export function targets(result: NeighboursResult): Target[] {
  const noisy = result.rows.filter((r) => r.neighbour !== 'alone');
  const direct = (r: NeighboursResult['rows'][number]) =>
    result.direct.find((d) => d.neighbour === r.neighbour)?.quiet.shared.p99Ratio ?? Number.NaN;
  return [
    // Own upstream first: what a gateway can answer for.
    ...noisy.map((r) =>
      withFloor(
        targetOn(
          `others' p99 on their own upstream beside a neighbour's ${r.neighbour} ≤ 2× alone`,
          r.quiet.own.p99Ratio,
          '×',
          (v) => v <= 2,
        ),
        'no gateway',
        result.direct.find((d) => d.neighbour === r.neighbour)?.quiet.own.p99Ratio ?? Number.NaN,
        '×',
        (v) => v <= 2,
      ),
    ),
    // On the neighbour's upstream the quiet call also waits for that server's own work on the
    // neighbour's answer, gateway or not: the same agents with no gateway are measured beside it.
    ...noisy.map((r) => {
      const t = targetOn(
        `others' p99 on the neighbour's upstream beside a neighbour's ${r.neighbour} ≤ 2× alone`,
        r.quiet.shared.p99Ratio,
        '×',
        (v) => v <= 2,
      );
      return withFloor(
        { ...t, measured: `${t.measured} (no gateway: ${direct(r).toFixed(2)}×)` },
        'no gateway',
        direct(r),
        '×',
        (v) => v <= 2,
      );
    }),
    ...noisy.map((r) =>
      targetOn(
        `others' p99 on the neighbour's upstream beside a neighbour's ${r.neighbour}, through bulkhead ÷ with no gateway ≤ 1`,
        r.quiet.shared.p99Ratio / direct(r),
        '×',
        (v) => v <= 1,
      ),
    ),
  ];
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
    ...(argValue('--against') ? { against: argValue('--against') as string } : {}),
    ...(argValue('--cpu-prof-dir') ? { profileDir: resolve(argValue('--cpu-prof-dir') as string) } : {}),
  });
  process.stdout.write(`${print(result)}\n`);
  for (const t of targets(result))
    process.stdout.write(`${t.target}: ${t.measured} (${t.met ? 'met' : 'NOT met'})\n`);
}
