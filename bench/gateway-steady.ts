/**
 * Where one `tools/call` spends the gateway's CPU, in steady state: starts the
 * bench upstream and a built gateway (this tree's `dist/src`, or `--from DIR`),
 * warms `--c` clients up, then profiles only the measured window (SIGHUP to
 * bench/lib/gateway-child.ts, so start-up, compilation and the scrubber's build
 * are not in it) and prints CPU ms per call (from /proc), self time by area,
 * and the hottest functions by self and by total (inclusive) time.
 *
 * Read syscall rows with care: the profiler's sampling signal interrupts them, so `writev` and
 * `writeUtf8String` show inflated self times (a pipe write to a stdio upstream, 30 µs unprofiled in
 * a loop of its own, showed as 1.2 ms a call). `--stdio` makes the bench upstream the gateway's
 * stdio child instead of an HTTP server.
 *
 * With `--against REF` it profiles nothing and compares instead: REF is
 * compiled (bench/lib/build-ref.ts, kept in the temp folder by commit for the
 * next run) and its gateway runs beside this tree's build; each of `--rounds`
 * rounds measures a block of `--calls` calls on each (order swapped every
 * round) and prints CPU ms per call of both and their ratio, then the medians.
 * CPU per call from /proc barely moves with the neighbours' load, so a change
 * of a few percent shows in one run on this shared machine.
 *
 *   npm run build && npx tsx bench/gateway-steady.ts [--c 1] [--calls 2000] [--blob BYTES] [--stdio] [--from DIR] [--top 30] [--no-profile]
 *   npm run build && npx tsx bench/gateway-steady.ts --against REF [--c 1] [--calls 600] [--rounds 9]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { buildRef } from './lib/build-ref.js';
import { areaOf, type CpuProfile, summarizeCpuProfile } from './lib/cpuprofile.js';
import { type Child, startChild } from './lib/proc.js';
import { median } from './lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const concurrency = Number(arg('--c') ?? 1);
const calls = Number(arg('--calls') ?? 2000);
const from = resolve(arg('--from') ?? join(ROOT, 'dist/src'));
const top = Number(arg('--top') ?? 30);
/** Flags for the gateway's node (e.g. `--perf-basic-prof` to read it with `perf record -p PID`). */
const nodeArgs = arg('--node-args')?.split(' ') ?? [];
/** Pause this long (ms) after the measured window, with load still on, e.g. for `perf record`. */
const extraMs = Number(arg('--extra-ms') ?? 0);
const against = arg('--against');
const rounds = Number(arg('--rounds') ?? 9);
/** Calls per gateway before measuring: V8 keeps optimising for the first thousand or so. */
const warm = Number(arg('--warm') ?? 1500);
/** `--blob BYTES`: call `blob` (a text of that many characters, untruncated) instead of `echo`. */
const blobBytes = arg('--blob') === undefined ? undefined : Number(arg('--blob'));
/**
 * `--no-profile`: no V8 profile at all, only CPU per call from /proc; with `--extra-ms` a window for
 * `perf record -p PID` that the V8 profiler's own thread (about a sixth of the samples) does not spoil.
 */
const profiling = !process.argv.includes('--no-profile');

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const dir = mkdtempSync(join(tmpdir(), 'bulkhead-steady-'));
const profileFile = join(dir, 'steady.cpuprofile');
/** `--stdio`: the gateway spawns the bench upstream over stdio (named `http` still, so the calls are the same). */
const stdio = process.argv.includes('--stdio');
const upstream = stdio
  ? undefined
  : await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], { cwd: ROOT });
const upstreamYaml = upstream
  ? `    url: http://127.0.0.1:${upstream.ready}/mcp`
  : `    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'bench/upstream.ts'))}, --stdio]
    cwd: ${JSON.stringify(ROOT)}`;
const policy = `version: 1
store: { sqlite: ./bench.db }
upstreams:
  http:
${upstreamYaml}
tools:
  http:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
    blob: { class: read, max_output: 64M }
profiles:
  bench:
    tools: [http__echo, http__blob]
    loop_guard: { identical_calls: 1000000 }
`;
type Gateway = Child<{ url: string; tokens: string[] }>;
const startGateway = (src: string, sub: string, env: Record<string, string> = {}): Promise<Gateway> => {
  const home = join(dir, sub);
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'policy.yaml'), policy);
  return startChild(
    join(ROOT, 'bench/lib/gateway-child.ts'),
    [join(home, 'policy.yaml'), String(concurrency)],
    {
      cwd: ROOT,
      timeoutMs: 120_000,
      nodeArgs,
      env: { BENCH_GATEWAY_FROM: src, ...env },
    },
  );
};
const connectAll = (gateway: Gateway): Promise<Client[]> =>
  Promise.all(
    gateway.ready.tokens.map(async (token) => {
      const client = new Client({ name: 'steady', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${gateway.ready.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      return client;
    }),
  );
let seq = 0;
const work = async (client: Client, n: number, latencies?: number[]) => {
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const r = await client.callTool(
      blobBytes === undefined
        ? { name: 'http__echo', arguments: { message: `m${seq++}` } }
        : { name: 'http__blob', arguments: { bytes: blobBytes } },
    );
    latencies?.push(performance.now() - started);
    if (r.isError) throw new Error(JSON.stringify(r.content));
  }
};
const per = Math.ceil(calls / concurrency);

if (against) {
  const refDir = join(tmpdir(), `bulkhead-steady-ref-${against.replace(/[^\w.-]/g, '_')}`);
  const ref = existsSync(join(refDir, 'dist/src/gateway/gateway.js'))
    ? { src: join(refDir, 'dist/src') }
    : await buildRef(ROOT, against, refDir);
  const pair = [
    { name: 'this tree', gateway: await startGateway(from, 'a') },
    { name: against, gateway: await startGateway(ref.src, 'b') },
  ];
  const cpu: number[][] = [[], []];
  const p50: number[][] = [[], []];
  const p99: number[][] = [[], []];
  try {
    const clients = await Promise.all(pair.map((p) => connectAll(p.gateway)));
    for (const c of clients)
      await Promise.all(c.map((client) => work(client, Math.ceil(warm / concurrency))));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      const line: string[] = [];
      for (const i of order) {
        const pid = pair[i]?.gateway.process.pid as number;
        const before = cpuMs(pid);
        const latencies: number[] = [];
        await Promise.all((clients[i] ?? []).map((client) => work(client, per, latencies)));
        const perCall = (cpuMs(pid) - before) / (per * concurrency);
        cpu[i]?.push(perCall);
        latencies.sort((x, y) => x - y);
        const at = (q: number) =>
          latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
        p50[i]?.push(at(0.5));
        p99[i]?.push(at(0.99));
        line.push(
          `${pair[i]?.name} ${perCall.toFixed(3)} (p50 ${at(0.5).toFixed(2)}, p99 ${at(0.99).toFixed(2)} ms)`,
        );
      }
      console.log(`round ${round + 1}: CPU ms/call ${line.join(', ')}`);
    }
    const [mine, theirs] = [cpu[0] ?? [], cpu[1] ?? []];
    const ratios = mine.map((x, k) => x / (theirs[k] ?? Number.NaN));
    console.log(
      `c=${concurrency}, ${rounds} rounds of ${per * concurrency} calls: CPU ms/call median this tree ${median(mine).toFixed(3)} vs ${against} ${median(theirs).toFixed(3)} (${(median(mine) / median(theirs)).toFixed(3)}x; per-round ratios median ${median(ratios).toFixed(3)}x, range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
    );
    console.log(
      `latency medians over rounds: this tree p50 ${median(p50[0] ?? []).toFixed(2)} / p99 ${median(p99[0] ?? []).toFixed(2)} ms; ${against} p50 ${median(p50[1] ?? []).toFixed(2)} / p99 ${median(p99[1] ?? []).toFixed(2)} ms`,
    );
    await Promise.all(clients.flat().map((c) => c.close()));
  } finally {
    await Promise.all(pair.map((p) => p.gateway.stop()));
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const gateway = await startGateway(from, 'a', { BENCH_PROFILE_OUT: profileFile });
const pid = gateway.process.pid as number;
try {
  const clients = await connectAll(gateway);
  await Promise.all(clients.map((c) => work(c, Math.ceil(warm / concurrency))));
  const before = cpuMs(pid);
  if (profiling) {
    gateway.process.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 200));
  }
  const started = performance.now();
  await Promise.all(clients.map((c) => work(c, per)));
  const wall = performance.now() - started;
  const after = cpuMs(pid);
  if (extraMs > 0) {
    process.stderr.write(`gateway pid ${pid}: ${extraMs} ms more of load\n`);
    const until = performance.now() + extraMs;
    await Promise.all(
      clients.map(async (c) => {
        while (performance.now() < until) await work(c, 10);
      }),
    );
  }
  const total = per * concurrency;
  if (!profiling) {
    const rate = (total / (wall / 1000)).toFixed(0);
    console.log(
      `c=${concurrency}, ${total} calls, ${rate} calls/s; gateway CPU ${((after - before) / total).toFixed(3)} ms/call (/proc, no profiler)`,
    );
  } else {
    gateway.process.kill('SIGHUP');
    for (let i = 0; i < 100 && !existsSync(profileFile); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
    const summary = summarizeCpuProfile(profile, ROOT, top);
    const perCall = (ms: number) => (ms / total).toFixed(3);
    console.log(
      `c=${concurrency}, ${total} calls, ${(total / (wall / 1000)).toFixed(0)} calls/s; gateway CPU ${perCall(after - before)} ms/call (/proc, incl. profiler); sampled ${perCall(summary.totalMs)} ms/call`,
    );
    console.log('\nself time by area (ms per call, share)');
    for (const a of summary.areas.slice(0, 20))
      console.log(`${a.area.padEnd(36)} ${perCall(a.selfMs).padStart(7)} ${(a.share * 100).toFixed(1)} %`);
    console.log('\nhottest functions, self (ms per call, share)');
    for (const f of summary.functions)
      console.log(
        `${f.name.slice(0, 90).padEnd(90)} ${perCall(f.selfMs).padStart(7)} ${(f.share * 100).toFixed(1)} %`,
      );
    // Inclusive time: each sample counts once for every distinct function on its stack.
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const inclusive = new Map<string, number>();
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      let id: number | undefined = samples[i];
      const leaf = byId.get(id as number);
      if (!leaf || areaOf(leaf.callFrame, ROOT) === '(idle)') continue;
      const seen = new Set<string>();
      while (id !== undefined) {
        const node = byId.get(id);
        if (!node) break;
        const { functionName, url, lineNumber } = node.callFrame;
        const short = url.includes('/node_modules/')
          ? url.slice(url.lastIndexOf('/node_modules/') + 14)
          : url.replace(`file://${ROOT}/`, '');
        const name = `${functionName || '(anon)'} ${short}:${lineNumber + 1}`;
        if (!seen.has(name) && functionName !== '(root)') {
          seen.add(name);
          inclusive.set(name, (inclusive.get(name) ?? 0) + Math.max(0, deltas[i] ?? 0) / 1000);
        }
        id = parent.get(id);
      }
    }
    console.log('\nhottest functions, total (ms per call)');
    for (const [name, ms] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top * 2))
      console.log(`${name.slice(0, 100).padEnd(100)} ${perCall(ms).padStart(7)}`);
    const keep = join(ROOT, 'bench/results/gateway-steady.cpuprofile');
    mkdirSync(dirname(keep), { recursive: true });
    writeFileSync(keep, JSON.stringify(profile));
  }
  await Promise.all(clients.map((c) => c.close()));
} finally {
  await gateway.stop();
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
}
