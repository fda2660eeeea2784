/**
 * Steady-load soak of two replicas: do heap and open file descriptors stay
 * flat while replicas on PostgreSQL serve calls, hold leases, LISTEN, and
 * pass decisions and kills to each other? Two gateway processes (each with
 * `--expose-gc`) on one real PostgreSQL, one Streamable HTTP upstream, and
 * at a steady rate (`--rate`, calls per second in all):
 *   - `echo` calls from two sessions on each replica;
 *   - every 10 s, a call held on B and approved through A, and a run with a
 *     call in flight on B killed through A (a new session each time).
 * Every minute each gateway reports its heap after a full GC, RSS and open
 * descriptors (/proc/self/fd). Fails when, from the first sample (after a
 * 30 s warm-up) to the last, either gateway's heap grows by more than
 * `--max-heap-mb` (default 8) or its descriptors by more than `--max-fds`
 * (default 8). RSS is reported, not judged.
 *
 *   npx tsx bench/soak-replica.bench.ts [--minutes 10] [--rate 40] [--max-heap-mb 8] [--max-fds 8]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectAgentClient } from '../src/agent/connect.js';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.js';
import { gatewayMemory } from './lib/gateway-memory.js';
import { type Child, startChild } from './lib/proc.js';
import { formatTable } from './lib/stats.js';
import { type Target, targetOn } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1024 * 1024;
const APPROVER = 'bho_soak-replica-approver-0001';
const WARM_UP_MS = 30_000;
const SIGNAL_EVERY_MS = 10_000;

export interface SoakReplicaOptions {
  minutes?: number;
  rate?: number;
  maxHeapMb?: number;
  maxFds?: number;
  log?: (line: string) => void;
}

interface Sample {
  minute: number;
  calls: number;
  heapMb: number;
  rssMb: number;
  fds: number;
  sessions: number;
}

interface GatewayChild {
  name: 'A' | 'B';
  child: Child<{ url: string; tokens: string[]; ids: string[] }>;
  dir: string;
}

export interface SoakReplicaResult {
  minutes: number;
  rate: number;
  calls: number;
  approvals: number;
  kills: number;
  samples: Record<'A' | 'B', Sample[]>;
  heapGrowthMb: Record<'A' | 'B', number>;
  fdGrowth: Record<'A' | 'B', number>;
  maxHeapMb: number;
  maxFds: number;
  passed: boolean;
}

function policy(store: string, upstream: string): string {
  return `version: 1
store: { postgres: { url: ${JSON.stringify(store)} } }
upstreams:
  http:
    url: ${upstream}
tools:
  http:
    echo: { class: read, arguments: { message: { maxLength: 100 } } }
    wait: { class: read }
    blob: { class: irreversible, approval: { approvers: [approver] } }
operators:
  approver: { token: { secret: BENCH_APPROVER }, roles: [approver, admin] }
profiles:
  bench:
    tools: [http__echo, http__wait, http__blob]
    loop_guard: { identical_calls: 1000000 }
`;
}

async function sample(g: GatewayChild, minute: number, calls: number): Promise<Sample> {
  const mem = await gatewayMemory(g.child.process, g.dir);
  return {
    minute,
    calls,
    heapMb: mem.heapUsed / MB,
    rssMb: mem.rss / MB,
    fds: mem.fds,
    sessions: mem.sessions,
  };
}

async function api(url: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${APPROVER}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function run(options: SoakReplicaOptions = {}): Promise<SoakReplicaResult> {
  const minutes = Math.max(1, options.minutes ?? 10);
  const rate = Math.max(1, Math.min(options.rate ?? 40, 500));
  const maxHeapMb = options.maxHeapMb ?? 8;
  const maxFds = options.maxFds ?? 8;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-soak-replica-'));
  const children: Child<unknown>[] = [];
  const clients: Client[] = [];
  let pg: TestPostgres | undefined;
  try {
    pg = await startPostgres();
    const upstream = await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], {
      cwd: ROOT,
    });
    children.push(upstream);
    // A run per kill (a kill ends its run), plus the sessions that carry the load.
    const kills = Math.ceil((minutes * 60_000 + WARM_UP_MS) / SIGNAL_EVERY_MS) + 2;
    const start = async (name: 'A' | 'B', runs: number): Promise<GatewayChild> => {
      const folder = join(dir, name);
      mkdirSync(folder);
      writeFileSync(
        join(folder, 'policy.yaml'),
        policy((pg as TestPostgres).url, `http://127.0.0.1:${upstream.ready}/mcp`),
      );
      const child = await startChild<{ url: string; tokens: string[]; ids: string[] }>(
        join(ROOT, 'bench/lib/gateway-child.ts'),
        [join(folder, 'policy.yaml'), String(runs)],
        { cwd: ROOT, nodeArgs: ['--expose-gc'], env: { BENCH_APPROVER: APPROVER }, timeoutMs: 120_000 },
      );
      children.push(child);
      return { name, child, dir: folder };
    };
    const a = await start('A', 2);
    const b = await start('B', 3 + Math.min(kills, 250));
    const connect = async (url: string, token: string) => {
      const client = await connectAgentClient({ mcpUrl: `${url}/mcp`, token });
      clients.push(client);
      return client;
    };
    const loaders = [
      await connect(a.child.ready.url, a.child.ready.tokens[0] as string),
      await connect(a.child.ready.url, a.child.ready.tokens[1] as string),
      await connect(b.child.ready.url, b.child.ready.tokens[0] as string),
      await connect(b.child.ready.url, b.child.ready.tokens[1] as string),
    ];
    const held = await connect(b.child.ready.url, b.child.ready.tokens[2] as string);
    const heldRun = b.child.ready.ids[2] as string;

    const startedAt = performance.now();
    const endAt = startedAt + WARM_UP_MS + minutes * 60_000;
    let calls = 0;
    let sequence = 0;
    let failure: Error | undefined;
    const interval = (loaders.length * 1000) / rate;
    const load = loaders.map(async (client, i) => {
      let next = performance.now() + (i * interval) / loaders.length;
      while (performance.now() < endAt && !failure) {
        await sleep(next - performance.now());
        next += interval;
        const result = await client.callTool({
          name: 'http__echo',
          arguments: { message: `s${sequence++}` },
        });
        if (result.isError) failure = new Error(`echo refused: ${JSON.stringify(result.content)}`);
        calls++;
      }
    });

    let approvals = 0;
    let killed = 0;
    const signals = (async () => {
      let round = 0;
      while (performance.now() < endAt - SIGNAL_EVERY_MS && !failure) {
        const roundStarted = performance.now();
        // A call held on B, approved through A.
        const call = held.callTool({ name: 'http__blob', arguments: { bytes: round } });
        let pending: { id: string; run_id: string; run_hash: string } | undefined;
        for (let i = 0; i < 500 && !pending; i++) {
          const { json } = await api(a.child.ready.url, '/api/approvals?state=pending');
          pending = (
            json as { approvals: { id: string; run_id: string; run_hash: string }[] }
          ).approvals.find((p) => p.run_id === heldRun);
          if (!pending) await sleep(20);
        }
        if (!pending) throw new Error('the held call never became a pending approval');
        const approved = await api(a.child.ready.url, `/api/approvals/${pending.id}/approve`, {
          args_hash: pending.run_hash,
        });
        if (approved.status !== 200) throw new Error(`approve answered ${approved.status}`);
        if ((await call).isError) throw new Error('the approved call failed');
        approvals++;
        // A run with a call in flight on B, killed through A.
        const index = 3 + round;
        const token = b.child.ready.tokens[index];
        if (token) {
          const client = await connectAgentClient({ mcpUrl: `${b.child.ready.url}/mcp`, token });
          const inFlight = client.callTool({ name: 'http__wait', arguments: { ms: 60_000 } });
          await sleep(200);
          const kill = await api(a.child.ready.url, `/api/runs/${b.child.ready.ids[index]}/kill`, {});
          if (kill.status !== 200) throw new Error(`kill answered ${kill.status}`);
          if (!(await inFlight).isError) throw new Error('the killed call was not refused');
          await client.close().catch(() => undefined);
          killed++;
        }
        round++;
        await sleep(SIGNAL_EVERY_MS - (performance.now() - roundStarted));
      }
    })();
    signals.catch((error: unknown) => {
      failure = error instanceof Error ? error : new Error(String(error));
    });

    const samples: Record<'A' | 'B', Sample[]> = { A: [], B: [] };
    await sleep(WARM_UP_MS);
    for (let minute = 0; minute <= minutes && !failure; minute++) {
      if (minute > 0) await sleep(startedAt + WARM_UP_MS + minute * 60_000 - performance.now());
      for (const g of [a, b]) samples[g.name].push(await sample(g, minute, calls));
      const [sa, sb] = [samples.A.at(-1) as Sample, samples.B.at(-1) as Sample];
      log(
        `soak-replica: minute ${minute}, ${calls} calls, ${approvals} approvals, ${killed} kills; ` +
          `A heap ${sa.heapMb.toFixed(1)} MB fds ${sa.fds}; B heap ${sb.heapMb.toFixed(1)} MB fds ${sb.fds}`,
      );
    }
    await Promise.all(load);
    await signals.catch(() => undefined);
    if (failure) throw failure;
    const growth = (name: 'A' | 'B', pick: (s: Sample) => number) =>
      pick(samples[name].at(-1) as Sample) - pick(samples[name][0] as Sample);
    const heapGrowthMb = { A: growth('A', (s) => s.heapMb), B: growth('B', (s) => s.heapMb) };
    const fdGrowth = { A: growth('A', (s) => s.fds), B: growth('B', (s) => s.fds) };
    return {
      minutes,
      rate,
      calls,
      approvals,
      kills: killed,
      samples,
      heapGrowthMb,
      fdGrowth,
      maxHeapMb,
      maxFds,
      passed:
        Math.max(heapGrowthMb.A, heapGrowthMb.B) <= maxHeapMb && Math.max(fdGrowth.A, fdGrowth.B) <= maxFds,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    for (const child of children.reverse()) await child.stop(5_000).catch(() => undefined);
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function print(r: SoakReplicaResult): string {
  const rows = (['A', 'B'] as const).flatMap((name) =>
    r.samples[name].map((s) => [
      name,
      String(s.minute),
      String(s.calls),
      s.heapMb,
      s.rssMb,
      String(s.fds),
      String(s.sessions),
    ]),
  );
  const lines = [
    `soak-replica: ${r.minutes} min at ${r.rate} calls/s asked (${(r.calls / (r.minutes * 60 + 30)).toFixed(1)} achieved) over two replicas on PostgreSQL: ${r.calls} calls, ${r.approvals} approvals and ${r.kills} kills across replicas`,
    formatTable([
      ['gateway', 'minute', 'calls', 'heap after GC MB', 'RSS MB', 'open fds', 'sessions'],
      ...rows,
    ]),
    `heap growth A ${r.heapGrowthMb.A.toFixed(2)} MB, B ${r.heapGrowthMb.B.toFixed(2)} MB (bound ${r.maxHeapMb} MB); ` +
      `fd growth A ${r.fdGrowth.A}, B ${r.fdGrowth.B} (bound ${r.maxFds}): ${r.passed ? 'flat' : 'NOT FLAT'}`,
  ];
  if (!r.passed) throw new Error(lines.join('\n'));
  return lines.join('\n');
}

export function targets(r: SoakReplicaResult): Target[] {
  const tenMinutes = r.minutes >= 10;
  return [
    targetOn(
      `replica soak: heap after GC grows ≤ ${r.maxHeapMb} MB per gateway over ${r.minutes} min (target 10)`,
      tenMinutes ? Math.max(r.heapGrowthMb.A, r.heapGrowthMb.B) : Number.NaN,
      ' MB',
      (v) => v <= r.maxHeapMb,
    ),
    targetOn(
      `replica soak: open fds grow ≤ ${r.maxFds} per gateway over ${r.minutes} min (target 10)`,
      tenMinutes ? Math.max(r.fdGrowth.A, r.fdGrowth.B) : Number.NaN,
      '',
      (v) => v <= r.maxFds,
    ),
  ];
}

function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pick = (flag: string, key: keyof SoakReplicaOptions) =>
    argValue(flag) !== undefined ? { [key]: argValue(flag) } : {};
  const result = await run({
    ...pick('--minutes', 'minutes'),
    ...pick('--rate', 'rate'),
    ...pick('--max-heap-mb', 'maxHeapMb'),
    ...pick('--max-fds', 'maxFds'),
  });
  try {
    process.stdout.write(`${print(result)}\n`);
  } catch (error) {
    process.stdout.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  }
  setTimeout(() => process.exit(), 1_000).unref();
}
