/**
 * Across replicas: how soon does a decision or a kill made on replica A reach
 * the call on replica B? Two pairs of gateway processes on one real
 * PostgreSQL (test/helpers/postgres.ts): one pair hears other replicas by
 * LISTEN/NOTIFY (the default), the other by polling only (`listen: false`,
 * approvals re-read every 500 ms, kills every 250 ms: how it was before).
 * Rounds alternate between the pairs (which goes first alternates too), so
 * both see the same machine load.
 *
 * - approval release: the agent's gated call is held on B; the clock starts
 *   when the approve request is sent to A's API and stops when the agent has
 *   the result (B re-reads the approval, runs the upstream `echo`, records it);
 * - kill propagation: a slow call is in flight on B; the clock starts when
 *   the kill request is sent to A and stops when the agent has the refusal.
 *
 *   npx tsx bench/replicas.bench.ts [--rounds 40]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectAgentClient } from '../src/agent/connect.js';
import type { PropagationOptions } from '../src/gateway/gateway.js';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.js';
import { type Child, startChild } from './lib/proc.js';
import { formatTable, percentile } from './lib/stats.js';
import { type Target, targetOn } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const APPROVER = 'bho_replicas-bench-approver-0001';

type Mode = 'notify' | 'polling';
const MODES: Record<Mode, PropagationOptions> = { notify: {}, polling: { listen: false } };

interface Replica {
  url: string;
  tokens: string[];
  ids: string[];
}

interface Figures {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface ReplicasResult {
  rounds: number;
  approval: Record<Mode, Figures>;
  kill: Record<Mode, Figures>;
  /** How long A took to answer the approve and kill requests themselves (both modes): part of the above. */
  answeredByA: { approve: Figures; kill: Figures };
}

function policy(url: string): string {
  return `version: 1
store: { postgres: { url: ${JSON.stringify(url)} } }
upstreams:
  up:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'bench/upstream.ts'))}, --stdio]
    cwd: ${JSON.stringify(ROOT)}
tools:
  up:
    echo: { class: irreversible, approval: { approvers: [approver] } }
    wait: { class: read }
operators:
  approver: { token: { secret: BENCH_APPROVER }, roles: [approver, admin] }
profiles:
  bench:
    tools: [up__echo, up__wait]
    budgets: { tool_calls: 100000 }
`;
}

async function post(url: string, path: string, body: unknown): Promise<number> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${APPROVER}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

async function pending(url: string, runId: string): Promise<{ id: string; run_hash: string }> {
  for (let i = 0; i < 2_000; i++) {
    const response = await fetch(`${url}/api/approvals?state=pending`, {
      headers: { authorization: `Bearer ${APPROVER}` },
    });
    const { approvals } = (await response.json()) as {
      approvals: { id: string; run_id: string; run_hash: string }[];
    };
    const found = approvals.find((a) => a.run_id === runId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the held call never showed up as a pending approval');
}

function figures(values: number[]): Figures {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

export async function run(
  options: { rounds?: number; log?: (line: string) => void } = {},
): Promise<ReplicasResult> {
  const rounds = Math.max(5, Math.min(options.rounds ?? 40, 200));
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-replicas-bench-'));
  const children: Child<unknown>[] = [];
  const clients: Client[] = [];
  let pg: TestPostgres | undefined;
  try {
    pg = await startPostgres();
    const start = async (mode: Mode, name: string, runs: number) => {
      // Each gateway child keeps its home and log beside its policy.
      const folder = join(dir, `${mode}-${name}`);
      mkdirSync(folder);
      const file = join(folder, 'policy.yaml');
      writeFileSync(file, policy((pg as TestPostgres).url));
      const child = await startChild<Replica>(
        join(ROOT, 'bench/lib/gateway-child.ts'),
        [file, String(runs)],
        {
          cwd: ROOT,
          env: { BENCH_APPROVER: APPROVER, BENCH_PROPAGATION: JSON.stringify(MODES[mode]) },
          timeoutMs: 120_000,
        },
      );
      children.push(child);
      return child.ready;
    };
    // B holds one run for the approvals and one per kill round (a kill ends its run).
    const pairs = {} as Record<Mode, { a: Replica; b: Replica }>;
    for (const mode of ['notify', 'polling'] as const) {
      pairs[mode] = { a: await start(mode, 'a', 1), b: await start(mode, 'b', rounds + 1) };
    }
    const connect = async (url: string, token: string) => {
      const client = await connectAgentClient({ mcpUrl: `${url}/mcp`, token });
      clients.push(client);
      return client;
    };
    const approvers = {} as Record<Mode, Client>;
    for (const mode of ['notify', 'polling'] as const) {
      approvers[mode] = await connect(pairs[mode].b.url, pairs[mode].b.tokens[0] as string);
    }

    const answered = { approve: [] as number[], kill: [] as number[] };
    const approvalRound = async (mode: Mode, round: number): Promise<number> => {
      const { a, b } = pairs[mode];
      const call = (approvers[mode] as Client).callTool({
        name: 'up__echo',
        arguments: { message: `refund ${round}` },
      });
      const held = await pending(a.url, b.ids[0] as string);
      const t0 = performance.now();
      const status = await post(a.url, `/api/approvals/${held.id}/approve`, { args_hash: held.run_hash });
      answered.approve.push(performance.now() - t0);
      if (status !== 200) throw new Error(`approve answered ${status}`);
      const result = await call;
      const ms = performance.now() - t0;
      if (result.isError) throw new Error(`the approved call failed: ${JSON.stringify(result.content)}`);
      return ms;
    };
    const killRound = async (mode: Mode, round: number): Promise<number> => {
      const { a, b } = pairs[mode];
      const client = await connect(b.url, b.tokens[round + 1] as string);
      const call = client.callTool({ name: 'up__wait', arguments: { ms: 60_000 } });
      // In flight: forwarded to the upstream, which waits.
      await new Promise((r) => setTimeout(r, 150));
      const t0 = performance.now();
      const status = await post(a.url, `/api/runs/${b.ids[round + 1]}/kill`, {});
      answered.kill.push(performance.now() - t0);
      if (status !== 200) throw new Error(`kill answered ${status}`);
      const result = await call;
      const ms = performance.now() - t0;
      if (!result.isError) throw new Error('the killed call was not refused');
      await client.close().catch(() => undefined);
      return ms;
    };

    const times = {
      approval: { notify: [] as number[], polling: [] as number[] },
      kill: { notify: [] as number[], polling: [] as number[] },
    };
    for (let round = 0; round < rounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ['notify', 'polling'] : ['polling', 'notify'];
      for (const mode of order) times.approval[mode].push(await approvalRound(mode, round));
      for (const mode of order) times.kill[mode].push(await killRound(mode, round));
      if ((round + 1) % 10 === 0) log(`replicas bench: ${round + 1}/${rounds} rounds`);
    }
    return {
      rounds,
      approval: { notify: figures(times.approval.notify), polling: figures(times.approval.polling) },
      kill: { notify: figures(times.kill.notify), polling: figures(times.kill.polling) },
      answeredByA: { approve: figures(answered.approve), kill: figures(answered.kill) },
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    for (const child of children.reverse()) await child.stop(5_000).catch(() => undefined);
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function print(r: ReplicasResult): string {
  const row = (what: string, mode: Mode, f: Figures) => [
    `${what}, ${mode}`,
    String(f.n),
    f.p50,
    f.p99,
    f.max,
  ];
  return `${formatTable([
    ['decided on A → effect on B (ms)', 'n', 'p50', 'p99', 'max'],
    row('approval releases held call', 'notify', r.approval.notify),
    row('approval releases held call', 'polling', r.approval.polling),
    row('kill cancels in-flight call', 'notify', r.kill.notify),
    row('kill cancels in-flight call', 'polling', r.kill.polling),
    [
      `of which A answering approve (both)`,
      String(r.answeredByA.approve.n),
      r.answeredByA.approve.p50,
      r.answeredByA.approve.p99,
      r.answeredByA.approve.max,
    ],
    [
      `of which A answering kill (both)`,
      String(r.answeredByA.kill.n),
      r.answeredByA.kill.p50,
      r.answeredByA.kill.p99,
      r.answeredByA.kill.max,
    ],
  ])}\n(two gateway processes per mode on one PostgreSQL, rounds interleaved; target ≤ 100 ms p99 with NOTIFY)`;
}

export function targets(r: ReplicasResult): Target[] {
  return [
    targetOn(
      'approval on A releases call on B, p99 ≤ 100 ms (NOTIFY)',
      r.approval.notify.p99,
      ' ms',
      (v) => v <= 100,
    ),
    targetOn('kill on A cancels call on B, p99 ≤ 100 ms (NOTIFY)', r.kill.notify.p99, ' ms', (v) => v <= 100),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : undefined;
  process.stdout.write(`${print(await run(rounds !== undefined ? { rounds } : {}))}\n`);
  // Leftover keep-alive sockets must not hold the process.
  setTimeout(() => process.exit(), 1_000).unref();
}
