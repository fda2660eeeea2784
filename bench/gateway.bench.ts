/**
 * `tools/call` of one trivial tool (`echo`), side by side in one run:
 *   direct      the SDK client straight to the upstream over Streamable HTTP
 *   bulkhead    the gateway fronting that same HTTP upstream (SQLite audit trail on)
 *   mcp-proxy   the npm `mcp-proxy` library fronting that same HTTP upstream
 *   node:http hop   a bare reverse proxy (bodies piped, nothing parsed): the hop alone
 * and with `--stdio` also the gateway and the `mcp-proxy` CLI fronting the same
 * server over stdio (the only upstream transport that CLI has).
 *
 * Every contender and the upstream run in their own processes; this process is
 * only the load generator. Concurrency 1 is one client calling sequentially;
 * concurrency 32 is 32 clients, each with its own SDK client and session (and,
 * through the gateway, its own run, as separate agents would), each calling
 * sequentially. Every (round, concurrency) block opens fresh clients, warms up,
 * then measures; targets are interleaved within a round so machine noise hits
 * them alike. Reported figures are medians over rounds.
 *
 * With `--tracing`, a second gateway with OpenTelemetry on (OTLP/HTTP protobuf
 * to a sink in this process that discards what it gets, default batching and
 * sampling) is measured beside the first, which has tracing off.
 *
 *   npx tsx bench/gateway.bench.ts [--rounds 3] [--calls 500] [--repeat 1] [--stdio] [--tracing] [--c1] [--blocks c1,c8,c32,blob] [--against GIT_REF] [--profile] [--json FILE]
 */

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Database from 'better-sqlite3';
import { buildRef, buildWorkingTree } from './lib/build-ref.js';
import { type CpuProfileSummary, summarizeCpuProfile } from './lib/cpuprofile.js';
import { type Child, freePort, spawnChild, startChild, waitForHttp } from './lib/proc.js';
import { formatTable, type LatencySummary, median, percentile, summarize } from './lib/stats.js';
import { type Target as BenchTarget, metLabel, targetOn, withFloor } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UPSTREAM = join(ROOT, 'bench/upstream.ts');
const GATEWAY_CHILD = join(ROOT, 'bench/lib/gateway-child.ts');
const MCP_PROXY_HTTP = join(ROOT, 'bench/lib/mcp-proxy-http.ts');
const HTTP_HOP = join(ROOT, 'bench/lib/http-hop.ts');
/** The bare reverse proxy's contender name: what the hop alone costs. */
const HOP = 'node:http hop';
const MCP_PROXY_CLI = join(ROOT, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs');
/** Run index used by the concurrency-1 client; indices 0..31 serve the 32 concurrent ones. */
const SOLO_RUN = 32;

export interface GatewayBenchOptions {
  rounds?: number;
  /** Measured calls at concurrency 1 per round; concurrency 32 makes 2× this many in all. */
  calls?: number;
  /** Also compare over a stdio upstream (gateway vs the mcp-proxy CLI). */
  stdio?: boolean;
  /** Run the gateway under `--cpu-prof` and summarise where its CPU time goes. */
  profile?: boolean;
  /** Also measure a gateway with OpenTelemetry tracing on. */
  tracing?: boolean;
  /** Only concurrency 1 (a quick latency comparison on a busy machine). */
  soloOnly?: boolean;
  /** Only these blocks (`c1`, `c8`, `c32`, `blob`): a focused profile or a quick comparison. */
  blocks?: readonly string[];
  /**
   * A git ref (commit, branch, tag) whose gateway runs beside this tree's, interleaved: both are
   * compiled with tsc (lib/build-ref.ts) and run from their builds, so a change's cost is read as
   * "current vs ref" in one run.
   */
  against?: string;
  log?: (line: string) => void;
}

export interface GatewayBenchRow {
  target: string;
  concurrency: number;
  p50: number;
  p99: number;
  perSecond: number;
  /** Calls measured per round. */
  n: number;
  /** CPU ms per call of the process in front of the upstream (gateway or proxy), where known. */
  frontCpuMs?: number;
  /** Of that, the front process's main thread (its event loop; the rest is workers, GC, libuv). */
  frontMainCpuMs?: number;
  /** CPU ms per call of the HTTP upstream process. */
  upstreamCpuMs?: number;
}

/** Time spent inside the gateway per call, from its own audit events (which record it). */
export interface GatewayInternals {
  /** Which upstream the calls went to (`http__echo` or `stdio__echo`). */
  upstream: 'http' | 'stdio';
  concurrency: number;
  calls: number;
  /** `totalMs` of the event: pipeline start to the record stage (excludes the audit write and HTTP framing). */
  pipelineP50: number;
  /** `upstreamMs`: the upstream round trip as the gateway's upstream client sees it. */
  upstreamP50: number;
  /** Median of `totalMs − upstreamMs`: the gateway's own stages. */
  stagesP50: number;
  /**
   * At c=1: the p50 of the same call made directly (`direct` or `direct (stdio)`), to set beside
   * `upstreamP50`: the gateway's own upstream round trip against the client's.
   */
  directP50?: number;
}

export interface GatewayBenchResult {
  rows: GatewayBenchRow[];
  internals: GatewayInternals[];
  profile?: CpuProfileSummary;
  /** With `--against`: the ref and the commit it named. */
  against?: { ref: string; commit: string };
  settings: {
    rounds: number;
    calls: number;
    concurrency32CallsPerClient: number;
    cpus: string;
    runs?: number;
  };
}

interface Target {
  name: string;
  url: string;
  /** Headers for the client with this index (the gateway wants a run token). */
  headers: (index: number) => Record<string, string>;
  tool: string;
  /** Gateway targets: where to read back the audit trail's own timings (this tree's gateway only). */
  gateway?: boolean;
  /** The gateway built at `--against`'s ref: swaps places with this tree's in every other round. */
  ref?: boolean;
  /** The process in front of the upstream, for CPU accounting. */
  frontPid?: number;
  /** The client spawns the upstream itself over stdio (the stdio baseline; concurrency 1 only). */
  stdioDirect?: boolean;
}

/** The 1 MB block: every target returns this many bytes from `blob`, untruncated. */
const BLOB_BYTES = 1024 * 1024;
const BLOB_CALLS = 30;

/**
 * CPU time (user + system, ms) a process has used so far, from /proc; undefined
 * elsewhere. Wall-clock figures on a shared 2-core box move with the neighbours;
 * CPU per call barely does, so it says what each hop costs.
 */
function cpuMs(pid: number | undefined, thread?: number): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // `thread`: that thread of the process only (its main thread has the process's id).
    const stat = readFileSync(
      thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
      'utf8',
    );
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    // USER_HZ is 100 on every Linux that Node supports.
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

async function connect(target: Target, index: number): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  if (target.stdioDirect) {
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', UPSTREAM, '--stdio'],
        cwd: ROOT,
        stderr: 'ignore',
      }),
    );
    return client;
  }
  await client.connect(
    new StreamableHTTPClientTransport(new URL(target.url), {
      requestInit: { headers: target.headers(index) },
    }),
  );
  return client;
}

// Unique messages: identical repeats would (rightly) trip the gateway's loop guard.
let sequence = 0;

async function callOnce(client: Client, tool: string, blob: boolean): Promise<void> {
  if (blob) {
    const name = tool.replace(/echo$/, 'blob');
    const result = await client.callTool({ name, arguments: { bytes: BLOB_BYTES } });
    const text = (result.content as { text?: string }[])[0]?.text ?? '';
    // Truncated or refused would be fast and wrong.
    if (result.isError || text.length < BLOB_BYTES) throw new Error(`${name}: ${text.length} bytes`);
    return;
  }
  const message = `m${sequence++}`;
  const result = await client.callTool({ name: tool, arguments: { message } });
  // A bench that measured refusals would be fast and wrong.
  if (result.isError) throw new Error(`${tool} refused: ${JSON.stringify(result.content)}`);
}

interface Measurement {
  summary: LatencySummary;
  window: [number, number];
  frontCpuMs?: number;
  frontMainCpuMs?: number;
  upstreamCpuMs?: number;
}

async function measure(
  target: Target,
  concurrency: number,
  callsPerClient: number,
  upstreamPid: number | undefined,
  blob = false,
): Promise<Measurement> {
  const clients = await Promise.all(
    Array.from({ length: concurrency }, (_, i) => connect(target, concurrency === 1 ? SOLO_RUN : i)),
  );
  try {
    // Warm-up: JIT on every side, sessions, keep-alive sockets, the gateway's upstream connection.
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < (blob ? 5 : 30); i++) await callOnce(c, target.tool, blob);
      }),
    );
    const latencies: number[] = [];
    const frontBefore = cpuMs(target.frontPid);
    const frontMainBefore = cpuMs(target.frontPid, target.frontPid);
    const upstreamBefore = cpuMs(upstreamPid);
    const windowStart = Date.now();
    const started = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < callsPerClient; i++) {
          const t0 = performance.now();
          await callOnce(c, target.tool, blob);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const wall = performance.now() - started;
    const window: [number, number] = [windowStart, Date.now()];
    const perCall = (before: number | undefined, after: number | undefined) =>
      before === undefined || after === undefined ? undefined : (after - before) / latencies.length;
    const frontCpuMs = perCall(frontBefore, cpuMs(target.frontPid));
    const frontMainCpuMs = perCall(frontMainBefore, cpuMs(target.frontPid, target.frontPid));
    const upstreamCpuMs = perCall(upstreamBefore, cpuMs(upstreamPid));
    return {
      summary: summarize(latencies, wall),
      window,
      ...(frontCpuMs !== undefined ? { frontCpuMs } : {}),
      ...(frontMainCpuMs !== undefined ? { frontMainCpuMs } : {}),
      ...(upstreamCpuMs !== undefined ? { upstreamCpuMs } : {}),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}

function policyYaml(upstreamUrl: string, stdio: boolean): string {
  const stdioUpstream = stdio
    ? `  stdio:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(UPSTREAM)}, --stdio]
    cwd: ${JSON.stringify(ROOT)}
`
    : '';
  const blob = '    blob: { class: read, max_output: 2M }\n';
  const stdioTool = stdio
    ? `  stdio:\n    echo: { class: read, arguments: { message: { maxLength: 100 } } }\n${blob}`
    : '';
  return `version: 1
store: { sqlite: ./bench.db }
upstreams:
  http:
    url: ${upstreamUrl}
${stdioUpstream}tools:
  http:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
${blob}${stdioTool}profiles:
  bench:
    tools: [http__echo, http__blob${stdio ? ', stdio__echo, stdio__blob' : ''}]
    loop_guard: { identical_calls: 1000000 }
`;
}

/** Reads the gateway's own per-call timings back from its audit trail, per measured window. */
function readInternals(dbFile: string, windows: Map<string, [number, number][]>): GatewayInternals[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    const out: GatewayInternals[] = [];
    for (const [key, spans] of windows) {
      const [kind, c] = key.split('|') as ['http' | 'stdio', string];
      const concurrency = Number(c);
      const total: number[] = [];
      const upstream: number[] = [];
      const stages: number[] = [];
      for (const [from, to] of spans) {
        const rows = db
          .prepare("SELECT data FROM events WHERE kind = 'tools/call' AND tool = ? AND at BETWEEN ? AND ?")
          .all(`${kind}__echo`, from, to) as { data: string }[];
        for (const row of rows) {
          const data = JSON.parse(row.data) as { totalMs?: number; upstreamMs?: number };
          if (typeof data.totalMs !== 'number' || typeof data.upstreamMs !== 'number') continue;
          total.push(data.totalMs);
          upstream.push(data.upstreamMs);
          stages.push(data.totalMs - data.upstreamMs);
        }
      }
      const p50 = (values: number[]) =>
        percentile(
          values.sort((a, b) => a - b),
          50,
        );
      out.push({
        upstream: kind,
        concurrency,
        calls: total.length,
        pipelineP50: p50(total),
        upstreamP50: p50(upstream),
        stagesP50: p50(stages),
      });
    }
    return out;
  } finally {
    db.close();
  }
}

export async function run(given: GatewayBenchOptions = {}): Promise<GatewayBenchResult> {
  // `npm run bench` passes nothing: it measures both upstream kinds, as the targets need.
  const options = { ...given, stdio: given.stdio ?? true };
  const rounds = Math.max(1, Math.min(options.rounds ?? 3, 20));
  const calls = Math.max(32, Math.min(options.calls ?? 500, 20_000));
  // About as many calls at 32 as at 1: through a proxy on 2 cores, 32 runs slower, not faster.
  const perClient32 = Math.ceil(calls / 32);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-bench-gateway-'));
  const profileDir = join(dir, 'profile');
  const children: Child<unknown>[] = [];
  const sinks: Server[] = [];
  try {
    const upstream = await startChild<number>(UPSTREAM, ['--http', '0'], { cwd: ROOT });
    children.push(upstream);
    const upstreamUrl = `http://127.0.0.1:${upstream.ready}/mcp`;

    writeFileSync(join(dir, 'policy.yaml'), policyYaml(upstreamUrl, options.stdio === true));
    if (options.profile) mkdirSync(profileDir);
    // With --against, both gateways run compiled (tsc) code, each with its own store.
    let built: { current: string; ref: Awaited<ReturnType<typeof buildRef>> } | undefined;
    if (options.against) {
      log(`gateway bench: compiling this tree and ${options.against} (tsc, about a minute each here)`);
      const [current, ref] = await Promise.all([
        buildWorkingTree(ROOT),
        buildRef(ROOT, options.against, join(dir, 'ref-tree')),
      ]);
      built = { current, ref };
      mkdirSync(join(dir, 'ref'));
      writeFileSync(join(dir, 'ref', 'policy.yaml'), policyYaml(upstreamUrl, options.stdio === true));
    }
    const gateway = await startChild<{ url: string; tokens: string[] }>(
      GATEWAY_CHILD,
      [join(dir, 'policy.yaml'), String(SOLO_RUN + 1)],
      {
        cwd: ROOT,
        // A loaded machine (other benchmarks, test suites) can take long to start tsx.
        timeoutMs: 120_000,
        ...(options.profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
        ...(built ? { env: { BENCH_GATEWAY_FROM: built.current } } : {}),
      },
    );
    children.push(gateway);
    const { url: gatewayUrl, tokens } = gateway.ready;
    const auth = (i: number) => ({ authorization: `Bearer ${tokens[i] ?? ''}` });

    const proxy = await startChild<{ url: string }>(MCP_PROXY_HTTP, [upstreamUrl, String(await freePort())], {
      cwd: ROOT,
    });
    children.push(proxy);
    const hop = await startChild<{ url: string }>(HTTP_HOP, [upstreamUrl], { cwd: ROOT });
    children.push(hop);

    const targets: Target[] = [
      { name: 'direct', url: upstreamUrl, headers: () => ({}), tool: 'echo' },
      {
        name: 'bulkhead',
        url: `${gatewayUrl}/mcp`,
        headers: auth,
        tool: 'http__echo',
        gateway: true,
        frontPid: gateway.process.pid,
      },
      {
        name: 'mcp-proxy',
        url: proxy.ready.url,
        headers: () => ({}),
        tool: 'echo',
        frontPid: proxy.process.pid,
      },
      { name: HOP, url: hop.ready.url, headers: () => ({}), tool: 'echo', frontPid: hop.process.pid },
    ];
    let refStdio: Target | undefined;
    if (built) {
      const refGateway = await startChild<{ url: string; tokens: string[] }>(
        GATEWAY_CHILD,
        [join(dir, 'ref', 'policy.yaml'), String(SOLO_RUN + 1)],
        { cwd: ROOT, timeoutMs: 120_000, env: { BENCH_GATEWAY_FROM: built.ref.src } },
      );
      children.push(refGateway);
      // Right after the current gateway: the two are compared with each other most of all.
      targets.splice(2, 0, {
        name: refName(built.ref.ref),
        url: `${refGateway.ready.url}/mcp`,
        headers: (i: number) => ({ authorization: `Bearer ${refGateway.ready.tokens[i] ?? ''}` }),
        tool: 'http__echo',
        frontPid: refGateway.process.pid,
        ref: true,
      });
      refStdio = {
        name: `${refName(built.ref.ref)} (stdio upstream)`,
        url: `${refGateway.ready.url}/mcp`,
        headers: (i: number) => ({ authorization: `Bearer ${refGateway.ready.tokens[i] ?? ''}` }),
        tool: 'stdio__echo',
        frontPid: refGateway.process.pid,
        ref: true,
      };
    }
    if (options.tracing) {
      const sink = createServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      });
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
      sinks.push(sink);
      const traced = await startChild<{ url: string; tokens: string[] }>(
        GATEWAY_CHILD,
        [join(dir, 'policy.yaml'), String(SOLO_RUN + 1)],
        {
          cwd: ROOT,
          timeoutMs: 120_000,
          env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}` },
        },
      );
      children.push(traced);
      targets.push({
        name: 'bulkhead (tracing on)',
        url: `${traced.ready.url}/mcp`,
        headers: (i: number) => ({ authorization: `Bearer ${traced.ready.tokens[i] ?? ''}` }),
        tool: 'http__echo',
        frontPid: traced.process.pid,
      });
    }
    if (options.stdio) {
      const port = await freePort();
      // The CLI announces nothing parseable, so it is started bare and polled until it answers.
      const cli = spawnChild(
        MCP_PROXY_CLI,
        ['--port', String(port), '--host', '127.0.0.1', '--server', 'stream', '--'].concat(
          process.execPath,
          '--import',
          'tsx',
          UPSTREAM,
          '--stdio',
        ),
        { cwd: ROOT },
      );
      children.push(cli);
      await waitForHttp(`http://127.0.0.1:${port}/mcp`);
      targets.push(
        {
          name: 'direct (stdio)',
          url: '',
          headers: () => ({}),
          tool: 'echo',
          stdioDirect: true,
        },
        {
          name: 'bulkhead (stdio upstream)',
          url: `${gatewayUrl}/mcp`,
          headers: auth,
          tool: 'stdio__echo',
          gateway: true,
          frontPid: gateway.process.pid,
        },
        ...(refStdio ? [refStdio] : []),
        {
          name: 'mcp-proxy CLI (stdio upstream)',
          url: `http://127.0.0.1:${port}/mcp`,
          headers: () => ({}),
          tool: 'echo',
          frontPid: cli.process.pid,
        },
      );
    }

    const results = new Map<string, Measurement[]>();
    const windows = new Map<string, [number, number][]>();
    for (let round = 1; round <= rounds; round++) {
      for (const [concurrency, perClient, blob] of [
        [1, calls, false],
        [8, Math.ceil(calls / 8), false],
        [32, perClient32, false],
        [1, BLOB_CALLS, true],
      ].filter(
        ([c, , blob]) =>
          (!options.soloOnly || c === 1) &&
          (!options.blocks || options.blocks.includes(blob ? 'blob' : `c${c}`)),
      ) as [number, number, boolean][]) {
        // The two gateways swap places every other round, so neither always runs first.
        const order = built && round % 2 === 0 ? swapRefs(targets) : targets;
        for (const target of order) {
          // The stdio baseline spawns its own server per client: concurrency 1 only.
          if (target.stdioDirect && concurrency > 1) continue;
          // Over stdio the HTTP upstream sits idle: its CPU is not this target's.
          const upstreamPid =
            target.tool.startsWith('stdio') || target.name.includes('stdio')
              ? undefined
              : upstream.process.pid;
          const measurement = await measure(target, concurrency, perClient, upstreamPid, blob);
          const { summary, window } = measurement;
          // The 1 MB block is reported as concurrency 0.
          const key = `${target.name}|${blob ? 0 : concurrency}`;
          results.set(key, [...(results.get(key) ?? []), measurement]);
          if (target.gateway && !blob) {
            const key = `${target.tool.startsWith('stdio') ? 'stdio' : 'http'}|${concurrency}`;
            windows.set(key, [...(windows.get(key) ?? []), window]);
          }
          log(
            `gateway bench: round ${round}/${rounds} ${blob ? '1 MB' : `c=${concurrency}`} ${target.name}: p50 ${summary.p50.toFixed(2)} ms, p99 ${summary.p99.toFixed(2)} ms, ${summary.perSecond.toFixed(0)} calls/s`,
          );
        }
      }
    }
    const rows: GatewayBenchRow[] = [];
    for (const [key, measurements] of results) {
      const [target, c] = key.split('|') as [string, string];
      const summaries = measurements.map((m) => m.summary);
      const front = measurements.flatMap((m) => (m.frontCpuMs === undefined ? [] : [m.frontCpuMs]));
      const frontMain = measurements.flatMap((m) =>
        m.frontMainCpuMs === undefined ? [] : [m.frontMainCpuMs],
      );
      const up = measurements.flatMap((m) => (m.upstreamCpuMs === undefined ? [] : [m.upstreamCpuMs]));
      rows.push({
        target,
        concurrency: Number(c),
        p50: median(summaries.map((s) => s.p50)),
        p99: median(summaries.map((s) => s.p99)),
        perSecond: median(summaries.map((s) => s.perSecond)),
        n: summaries[0]?.n ?? 0,
        ...(front.length ? { frontCpuMs: median(front) } : {}),
        ...(frontMain.length ? { frontMainCpuMs: median(frontMain) } : {}),
        ...(up.length ? { upstreamCpuMs: median(up) } : {}),
      });
    }
    // Stop the gateway before reading its store (and so that --cpu-prof writes its file).
    await gateway.stop(15_000);
    const internals = readInternals(join(dir, 'bench.db'), windows).map((i) => {
      if (i.concurrency !== 1) return i;
      const direct = rows.find(
        (r) => r.concurrency === 1 && r.target === (i.upstream === 'stdio' ? 'direct (stdio)' : 'direct'),
      );
      return direct ? { ...i, directP50: direct.p50 } : i;
    });
    let profile: CpuProfileSummary | undefined;
    if (options.profile) {
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        const keep = join(ROOT, 'bench/results/gateway.cpuprofile');
        mkdirSync(dirname(keep), { recursive: true });
        writeFileSync(keep, readFileSync(join(profileDir, file)));
        profile = summarizeCpuProfile(JSON.parse(readFileSync(keep, 'utf8')), ROOT);
        log(`gateway bench: CPU profile kept at ${keep} (open it in Chrome DevTools)`);
      }
    }
    return {
      rows,
      internals,
      ...(profile ? { profile } : {}),
      ...(built ? { against: { ref: built.ref.ref, commit: built.ref.commit } } : {}),
      settings: {
        rounds,
        calls,
        concurrency32CallsPerClient: perClient32,
        cpus: `${(await import('node:os')).cpus().length}`,
      },
    };
  } finally {
    for (const child of children.reverse()) await child.stop(3_000).catch(() => undefined);
    for (const sink of sinks) sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The contender name of the gateway built from `ref`. */
export function refName(ref: string): string {
  return `bulkhead@${ref}`;
}

/** Each ref gateway's target swapped with the one before it (this tree's gateway on the same upstream). */
function swapRefs(list: readonly Target[]): Target[] {
  const out = [...list];
  for (let i = 1; i < out.length; i++) {
    if (!out[i]?.ref) continue;
    [out[i - 1], out[i]] = [out[i] as Target, out[i - 1] as Target];
  }
  return out;
}

function ratio(a: number | undefined, b: number | undefined): number {
  return a === undefined || b === undefined ? Number.NaN : a / b;
}

function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
}

export function print(result: GatewayBenchResult): string {
  const { rows, internals, settings } = result;
  const lines: string[] = [
    `tools/call echo, medians of ${settings.runs ? `${settings.runs} runs × ` : ''}${settings.rounds} interleaved rounds; ${settings.cpus} CPUs; ` +
      `c=1: ${settings.calls} calls/round, c=32: 32 clients × ${settings.concurrency32CallsPerClient} calls`,
    ...(result.against
      ? [
          `against ${result.against.ref} (${result.against.commit.slice(0, 12)}): both gateways compiled with tsc and run from their builds`,
        ]
      : []),
    '',
  ];
  const label = (c: number) => (c === 0 ? '1 MB result (c=1)' : `concurrency ${c}`);
  for (const c of [1, 8, 32, 0]) {
    const at = rows.filter((r) => r.concurrency === c);
    if (at.length === 0) continue;
    const direct = at.find((r) => r.target === 'direct');
    lines.push(label(c));
    lines.push(
      formatTable([
        [
          'target',
          'p50 ms',
          'p99 ms',
          'calls/s',
          '+p50 ms vs direct',
          '+p99 ms vs direct',
          '× direct calls/s',
          'front CPU ms/call',
          'upstream CPU ms/call',
        ],
        ...at.map((r) => {
          // Over stdio the baseline is the client spawning the server itself.
          const base = r.target.includes('stdio')
            ? (at.find((x) => x.target === 'direct (stdio)') ?? direct)
            : direct;
          return [
            r.target,
            r.p50,
            r.p99,
            r.perSecond,
            base ? r.p50 - base.p50 : Number.NaN,
            base ? r.p99 - base.p99 : Number.NaN,
            ratio(r.perSecond, base?.perSecond),
            r.frontCpuMs ?? Number.NaN,
            r.upstreamCpuMs ?? Number.NaN,
          ];
        }),
      ]),
    );
    const gw = at.find((r) => r.target === 'bulkhead');
    const proxy = at.find((r) => r.target === 'mcp-proxy');
    if (gw && proxy) {
      lines.push(
        `bulkhead vs mcp-proxy: p50 ${ratio(gw.p50, proxy.p50).toFixed(2)}×, p99 ${ratio(gw.p99, proxy.p99).toFixed(2)}×, calls/s ${ratio(gw.perSecond, proxy.perSecond).toFixed(2)}×`,
      );
    }
    const bare = at.find((r) => r.target === HOP);
    if (gw && bare && direct) {
      lines.push(
        `the hop alone (${HOP}) adds p50 ${(bare.p50 - direct.p50).toFixed(3)} ms, p99 ${(bare.p99 - direct.p99).toFixed(3)} ms; bulkhead over it: p50 ${signed(gw.p50 - bare.p50)} ms, p99 ${signed(gw.p99 - bare.p99)} ms`,
      );
    }
    const ref = result.against ? at.find((r) => r.target === refName(result.against?.ref ?? '')) : undefined;
    if (gw && ref && direct) {
      const cpu = ratio(gw.frontCpuMs, ref.frontCpuMs);
      const main = (r: GatewayBenchRow) => (r.frontMainCpuMs ?? Number.NaN).toFixed(1);
      lines.push(
        `bulkhead vs ${ref.target}: added p50 ${(gw.p50 - direct.p50).toFixed(3)} vs ${(ref.p50 - direct.p50).toFixed(3)} ms (${signed(gw.p50 - ref.p50)} ms), p99 ${signed(gw.p99 - ref.p99)} ms, calls/s ${ratio(gw.perSecond, ref.perSecond).toFixed(2)}×, front CPU per call ${cpu.toFixed(2)}× (main thread ${main(gw)} vs ${main(ref)} ms)`,
      );
    }
    const traced = at.find((r) => r.target === 'bulkhead (tracing on)');
    if (gw && traced) {
      lines.push(
        `tracing on vs off: p50 ${(traced.p50 - gw.p50).toFixed(3)} ms added, p99 ${(traced.p99 - gw.p99).toFixed(3)} ms, calls/s ${ratio(traced.perSecond, gw.perSecond).toFixed(2)}×`,
      );
    }
    const gwStdio = at.find((r) => r.target === 'bulkhead (stdio upstream)');
    const refStdio = result.against
      ? at.find((r) => r.target === `${refName(result.against?.ref ?? '')} (stdio upstream)`)
      : undefined;
    const directStdio = at.find((r) => r.target === 'direct (stdio)');
    if (gwStdio && refStdio && directStdio) {
      lines.push(
        `bulkhead vs ${refStdio.target}: added p50 ${(gwStdio.p50 - directStdio.p50).toFixed(3)} vs ${(refStdio.p50 - directStdio.p50).toFixed(3)} ms (${signed(gwStdio.p50 - refStdio.p50)} ms), p99 ${signed(gwStdio.p99 - refStdio.p99)} ms, front CPU per call ${ratio(gwStdio.frontCpuMs, refStdio.frontCpuMs).toFixed(2)}×`,
      );
    }
    const cliStdio = at.find((r) => r.target === 'mcp-proxy CLI (stdio upstream)');
    if (gwStdio && cliStdio) {
      lines.push(
        `bulkhead vs mcp-proxy CLI, stdio upstream: p50 ${ratio(gwStdio.p50, cliStdio.p50).toFixed(2)}×, calls/s ${ratio(gwStdio.perSecond, cliStdio.perSecond).toFixed(2)}×`,
      );
    }
    lines.push('');
  }
  const targetRows: string[][] = [
    ['target', 'measured', 'met'],
    ...targets(result).map((t) => [t.target, t.measured, metLabel(t.met)]),
  ];
  lines.push('targets');
  lines.push(formatTable(targetRows));
  if (internals.length > 0) {
    lines.push('');
    lines.push(
      'inside the gateway (from its audit events; p50 ms): its upstream round trip beside the same call made directly (c=1)',
    );
    lines.push(
      '(totalMs, hence "pipeline" and "own stages", counts whole milliseconds of Date.now(); upstreamMs is exact. The direct call is measured in its own block: over stdio a two-process ping-pong in a tight loop is faster than the same call made between other processes\' work, see bench/README.md 1 Dec 16:10)',
    );
    lines.push(
      formatTable([
        [
          'upstream',
          'concurrency',
          'calls',
          'pipeline (to record)',
          'upstream round trip',
          'direct call',
          'own stages',
        ],
        ...internals.map((i) => [
          i.upstream,
          String(i.concurrency),
          String(i.calls),
          i.pipelineP50,
          i.upstreamP50,
          i.directP50 ?? Number.NaN,
          i.stagesP50,
        ]),
      ]),
    );
  }
  if (result.profile) {
    lines.push('');
    lines.push(
      `gateway CPU profile: ${result.profile.totalMs.toFixed(0)} ms sampled, by where the code lives`,
    );
    lines.push(
      formatTable([
        ['area', 'self ms', 'share'],
        ...result.profile.areas.map((a) => [a.area, a.selfMs, `${(a.share * 100).toFixed(1)} %`]),
      ]),
    );
    lines.push('');
    lines.push('top functions by self time');
    lines.push(
      formatTable([
        ['function', 'self ms', 'share'],
        ...result.profile.functions.map((f) => [f.name, f.selfMs, `${(f.share * 100).toFixed(1)} %`]),
      ]),
    );
  }
  return lines.join('\n');
}

/** The issue's targets for the gateway, from one result: added latency, throughput, the 1 MB result. */
export function targets(result: GatewayBenchResult): BenchTarget[] {
  const rows = result.rows;
  const find = (c: number, name: string) => rows.find((r) => r.concurrency === c && r.target === name);
  const added = (c: number, front: string, base: string, field: 'p50' | 'p99') =>
    (find(c, front)?.[field] ?? Number.NaN) - (find(c, base)?.[field] ?? Number.NaN);
  const list: BenchTarget[] = [];
  // The floor: the bare reverse proxy in front of the same HTTP upstream (no parsing, no checks).
  const hop = `${HOP} (no checks)`;
  for (const [name, front, base] of [
    ['HTTP upstream', 'bulkhead', 'direct'],
    ['stdio upstream', 'bulkhead (stdio upstream)', 'direct (stdio)'],
  ] as const) {
    const floored = (t: BenchTarget, field: 'p50' | 'p99', ok: (v: number) => boolean) =>
      front === 'bulkhead' ? withFloor(t, hop, added(1, HOP, base, field), ' ms', ok) : t;
    const p50 = (v: number) => v <= 1;
    const p99 = (v: number) => v <= 3;
    list.push(
      floored(
        targetOn(`${name}: added p50 per tools/call at c=1 ≤ 1 ms`, added(1, front, base, 'p50'), ' ms', p50),
        'p50',
        p50,
      ),
    );
    list.push(
      floored(
        targetOn(`${name}: added p99 per tools/call at c=1 ≤ 3 ms`, added(1, front, base, 'p99'), ' ms', p99),
        'p99',
        p99,
      ),
    );
  }
  for (const c of [8, 32]) {
    const direct = find(c, 'direct')?.perSecond;
    const ok = (v: number) => v >= 0.8;
    const t = targetOn(
      `calls/s at c=${c} ≥ 0.8× direct`,
      ratio(find(c, 'bulkhead')?.perSecond, direct),
      '×',
      ok,
    );
    list.push(withFloor(t, hop, ratio(find(c, HOP)?.perSecond, direct), '×', ok));
  }
  const blobGw = find(0, 'bulkhead')?.p50 ?? Number.NaN;
  const blobPx = find(0, 'mcp-proxy')?.p50 ?? Number.NaN;
  const noSlower = (v: number) => v <= 1;
  const blob = targetOn(
    '1 MB result p50 no slower than mcp-proxy (× mcp-proxy)',
    blobGw / blobPx,
    '×',
    noSlower,
  );
  list.push(
    withFloor(
      Number.isFinite(blobGw / blobPx)
        ? {
            ...blob,
            measured: `${blobGw.toFixed(1)} vs ${blobPx.toFixed(1)} ms (${(blobGw / blobPx).toFixed(2)}×)`,
          }
        : blob,
      hop,
      (find(0, HOP)?.p50 ?? Number.NaN) / blobPx,
      '×',
      noSlower,
    ),
  );
  return list;
}

/** Medians, field by field, of several whole runs (the README's table): one run's rounds share its noise. */
export function medianOfRuns(results: GatewayBenchResult[]): GatewayBenchResult {
  const first = results[0];
  if (!first) throw new Error('no runs');
  const pick = <T>(values: (T | undefined)[]) => values.filter((v): v is T => v !== undefined);
  const med = (values: (number | undefined)[]) => {
    const present = pick(values);
    return present.length ? median(present) : undefined;
  };
  const rows = first.rows.map((row) => {
    const same = results.map((r) =>
      r.rows.find((x) => x.target === row.target && x.concurrency === row.concurrency),
    );
    const frontCpuMs = med(same.map((r) => r?.frontCpuMs));
    const frontMainCpuMs = med(same.map((r) => r?.frontMainCpuMs));
    const upstreamCpuMs = med(same.map((r) => r?.upstreamCpuMs));
    return {
      ...row,
      p50: med(same.map((r) => r?.p50)) ?? Number.NaN,
      p99: med(same.map((r) => r?.p99)) ?? Number.NaN,
      perSecond: med(same.map((r) => r?.perSecond)) ?? Number.NaN,
      ...(frontCpuMs !== undefined ? { frontCpuMs } : {}),
      ...(frontMainCpuMs !== undefined ? { frontMainCpuMs } : {}),
      ...(upstreamCpuMs !== undefined ? { upstreamCpuMs } : {}),
    };
  });
  const internals = first.internals.map((i) => {
    const same = results.map((r) =>
      r.internals.find((x) => x.concurrency === i.concurrency && x.upstream === i.upstream),
    );
    const directP50 = med(same.map((s) => s?.directP50));
    return {
      ...i,
      calls: pick(same.map((s) => s?.calls)).reduce((a, b) => a + b, 0),
      pipelineP50: med(same.map((s) => s?.pipelineP50)) ?? Number.NaN,
      upstreamP50: med(same.map((s) => s?.upstreamP50)) ?? Number.NaN,
      stagesP50: med(same.map((s) => s?.stagesP50)) ?? Number.NaN,
      ...(directP50 !== undefined ? { directP50 } : {}),
    };
  });
  return { ...first, rows, internals, settings: { ...first.settings, runs: results.length } };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = argValue('--rounds');
  const calls = argValue('--calls');
  const repeat = Math.max(1, Math.min(Number(argValue('--repeat') ?? 1), 10));
  const results: GatewayBenchResult[] = [];
  for (let i = 1; i <= repeat; i++) {
    if (repeat > 1) process.stderr.write(`gateway bench: whole run ${i}/${repeat}\n`);
    const result = await run({
      ...(rounds ? { rounds: Number(rounds) } : {}),
      ...(calls ? { calls: Number(calls) } : {}),
      stdio: process.argv.includes('--stdio'),
      tracing: process.argv.includes('--tracing'),
      soloOnly: process.argv.includes('--c1'),
      ...(argValue('--blocks') ? { blocks: (argValue('--blocks') as string).split(',') } : {}),
      ...(argValue('--against') ? { against: argValue('--against') as string } : {}),
      // Profile only the first run: the profiler itself slows the gateway.
      profile: process.argv.includes('--profile') && i === 1,
    });
    results.push(result);
    if (repeat > 1) process.stderr.write(`${print(result)}\n\n`);
  }
  const final = repeat > 1 ? medianOfRuns(results) : (results[0] as GatewayBenchResult);
  process.stdout.write(`${print(final)}\n`);
  const json = argValue('--json');
  if (json) writeFileSync(json, `${JSON.stringify({ runs: results, median: final }, null, 2)}\n`);
}
