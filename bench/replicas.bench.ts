/**
 * Across replicas: how soon does a decision or a kill made on replica A reach
 * the call on replica B? Pairs of gateway processes on one real PostgreSQL
 * server (test/helpers/postgres.ts), each pair with its own database: one
 * pair hears other replicas by LISTEN/NOTIFY (the default), one by polling
 * only (`listen: false`, approvals re-read every 500 ms, kills every 250 ms:
 * how it was before), and with `--against REF` a pair built from another git
 * ref with NOTIFY (both builds then run compiled, like for like). Rounds
 * rotate through the pairs (which goes first rotates too), so all see the
 * same machine load.
 *
 * - approval release: the agent's gated call is held on B; the clock starts
 *   when the approve request is sent to A's API. Two stops: when B's upstream
 *   receives the call (B heard, claimed and forwarded it; the upstream,
 *   bench/lib/stamp-upstream.ts, answers with the moment), and when the agent
 *   has the result (B also ran the call and recorded it).
 *   120 rounds by default, so p99 is not the maximum; the polling pair, at
 *   ~0.5 s a round, takes every third round only;
 * - what B alone takes for the same call ungated (`echo` of a message not
 *   starting with `refund`), on the same client just before: the part of the release that is running the call, not
 *   hearing the decision;
 * - kill propagation: a slow call is in flight on B; the clock starts when
 *   the kill request is sent to A and stops when the agent has the refusal
 *   (40 rounds by default: each needs its own run).
 *
 *   npx tsx bench/replicas.bench.ts [--rounds 120] [--kill-rounds 40] [--against GIT_REF]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import pgDriver from 'pg';
import { connectAgentClient } from '../src/agent/connect.js';
import type { PropagationOptions } from '../src/gateway/gateway.js';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.js';
import { buildRef, buildWorkingTree } from './lib/build-ref.js';
import { type Child, startChild } from './lib/proc.js';
import { formatTable, percentile } from './lib/stats.js';
import { type Target, targetOn } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const APPROVER = 'bho_replicas-bench-approver-0001';
/** The polling pair's approval rounds take ~0.5 s each: it runs in one approval round of this many. */
const POLLING_EVERY = 3;

interface Contender {
  name: string;
  propagation: PropagationOptions;
  /** A compiled `src` folder to run (BENCH_GATEWAY_FROM), else the environment's. */
  from?: string;
}

interface Replica {
  url: string;
  tokens: string[];
  ids: string[];
}

export interface Figures {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ReplicasResult {
  rounds: number;
  killRounds: number;
  /** Approve sent to A → the call reached B's upstream (B claimed it and forwarded it). */
  released: Record<string, Figures>;
  /** Per contender: `notify`, `polling`, and `notify @REF` with --against. */
  approval: Record<string, Figures>;
  /** An ungated call on B right before each approval round (NOTIFY contenders). */
  ungated: Record<string, Figures>;
  kill: Record<string, Figures>;
  /** How long A took to answer the approve and kill requests themselves (all pairs): part of the above. */
  /** A's API answering: the approve per contender (where A's vote is), the kill over all. */
  answeredByA: { approve: Record<string, Figures>; kill: Figures };
  against?: { ref: string; commit: string };
}

function policy(url: string): string {
  return `version: 1
store: { postgres: { url: ${JSON.stringify(url)} } }
upstreams:
  up:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'bench/lib/stamp-upstream.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
tools:
  up:
    echo: { class: irreversible, approval: { when: [{ arg: message, matches: '^refund' }], approvers: [approver] } }
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

/** Now, in epoch milliseconds with sub-millisecond resolution, as the upstream stamps. */
const stamp = () => performance.timeOrigin + performance.now();

/** When the upstream received the echo, from its answer (`{"message", "at"}`). */
function receivedAt(result: Awaited<ReturnType<Client['callTool']>>): number {
  const content = result.content as { type: string; text?: string }[];
  const text = content.find((c) => c.type === 'text')?.text ?? '';
  const at = (JSON.parse(text) as { at?: unknown }).at;
  if (typeof at !== 'number') throw new Error(`the upstream's answer has no time: ${text}`);
  return at;
}

function figures(values: number[]): Figures {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** A database of its own on the server, so one pair's notifications never reach another pair. */
async function database(server: TestPostgres, name: string): Promise<string> {
  const admin = new pgDriver.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function run(
  options: { rounds?: number; killRounds?: number; against?: string; log?: (line: string) => void } = {},
): Promise<ReplicasResult> {
  const rounds = Math.max(5, Math.min(options.rounds ?? 120, 1_000));
  const killRounds = Math.max(5, Math.min(options.killRounds ?? 40, 200));
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-replicas-bench-'));
  const children: Child<unknown>[] = [];
  const clients: Client[] = [];
  let server: TestPostgres | undefined;
  try {
    const contenders: Contender[] = [
      { name: 'notify', propagation: {} },
      { name: 'polling', propagation: { listen: false } },
    ];
    let against: ReplicasResult['against'];
    if (options.against) {
      log(`replicas bench: compiling this tree and ${options.against} (tsc, about a minute each here)`);
      const [current, ref] = await Promise.all([
        buildWorkingTree(ROOT),
        buildRef(ROOT, options.against, join(dir, 'ref-tree')),
      ]);
      for (const c of contenders) c.from = current;
      contenders.splice(1, 0, { name: `notify @${options.against}`, propagation: {}, from: ref.src });
      against = { ref: ref.ref, commit: ref.commit };
    }
    server = await startPostgres();
    const start = async (c: Contender, index: number, name: string, url: string, runs: number) => {
      // Each gateway child keeps its home and log beside its policy.
      const folder = join(dir, `${index}-${name}`);
      mkdirSync(folder);
      const file = join(folder, 'policy.yaml');
      writeFileSync(file, policy(url));
      const child = await startChild<Replica>(
        join(ROOT, 'bench/lib/gateway-child.ts'),
        [file, String(runs)],
        {
          cwd: ROOT,
          env: {
            BENCH_APPROVER: APPROVER,
            BENCH_PROPAGATION: JSON.stringify(c.propagation),
            ...(c.from ? { BENCH_GATEWAY_FROM: c.from } : {}),
          },
          timeoutMs: 120_000,
        },
      );
      children.push(child);
      return child.ready;
    };
    // B holds one run for the approvals and one per kill round (a kill ends its run).
    const pairs: { a: Replica; b: Replica }[] = [];
    for (const [index, c] of contenders.entries()) {
      const url = await database(server, `pair${index}`);
      pairs.push({
        a: await start(c, index, 'a', url, 1),
        b: await start(c, index, 'b', url, killRounds + 1),
      });
    }
    const connect = async (url: string, token: string) => {
      const client = await connectAgentClient({ mcpUrl: `${url}/mcp`, token });
      clients.push(client);
      return client;
    };
    const agents: Client[] = [];
    for (const pair of pairs) agents.push(await connect(pair.b.url, pair.b.tokens[0] as string));

    const answered = { kill: [] as number[] };
    const approvalRound = async (
      index: number,
      round: number,
    ): Promise<{ ms: number; released: number; ungated: number; answeredByA: number }> => {
      const { a, b } = pairs[index] as { a: Replica; b: Replica };
      const agent = agents[index] as Client;
      // What running a call on B takes at this moment, without any approval.
      const u0 = performance.now();
      const plain = await agent.callTool({ name: 'up__echo', arguments: { message: `plain ${round}` } });
      const ungated = performance.now() - u0;
      if (plain.isError) throw new Error(`the ungated call failed: ${JSON.stringify(plain.content)}`);
      const call = agent.callTool({ name: 'up__echo', arguments: { message: `refund ${round}` } });
      const held = await pending(a.url, b.ids[0] as string);
      const t0 = performance.now();
      const sent = stamp();
      const status = await post(a.url, `/api/approvals/${held.id}/approve`, { args_hash: held.run_hash });
      const answeredByA = performance.now() - t0;
      if (status !== 200) throw new Error(`approve answered ${status}`);
      const result = await call;
      const ms = performance.now() - t0;
      if (result.isError) throw new Error(`the approved call failed: ${JSON.stringify(result.content)}`);
      return { ms, released: receivedAt(result) - sent, ungated, answeredByA };
    };
    const killRound = async (index: number, round: number): Promise<number> => {
      const { a, b } = pairs[index] as { a: Replica; b: Replica };
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

    const names = contenders.map((c) => c.name);
    const lists = () => Object.fromEntries(names.map((n) => [n, [] as number[]]));
    const times = {
      released: lists(),
      approval: lists(),
      ungated: lists(),
      kill: lists(),
      answered: lists(),
    };
    // Each round starts with the next contender, so none is always first (or always after another).
    const rotation = (round: number) => names.map((_, i) => (i + round) % names.length);
    for (let round = 0; round < rounds; round++) {
      for (const index of rotation(round)) {
        const c = contenders[index] as Contender;
        if (c.propagation.listen === false && round % POLLING_EVERY !== 0) continue;
        const { ms, released, ungated, answeredByA } = await approvalRound(index, round);
        times.approval[c.name]?.push(ms);
        times.answered[c.name]?.push(answeredByA);
        times.released[c.name]?.push(released);
        if (c.propagation.listen !== false) times.ungated[c.name]?.push(ungated);
      }
      if (round < killRounds) {
        for (const index of rotation(round)) {
          times.kill[(contenders[index] as Contender).name]?.push(await killRound(index, round));
        }
      }
      if ((round + 1) % 20 === 0) log(`replicas bench: ${round + 1}/${rounds} rounds`);
    }
    const all = (of: Record<string, number[]>, keep: (name: string) => boolean = () => true) =>
      Object.fromEntries(
        Object.entries(of)
          .filter(([name, values]) => keep(name) && values.length > 0)
          .map(([name, values]) => [name, figures(values)]),
      );
    return {
      rounds,
      killRounds,
      released: all(times.released),
      approval: all(times.approval),
      ungated: all(times.ungated),
      kill: all(times.kill),
      answeredByA: { approve: all(times.answered), kill: figures(answered.kill) },
      ...(against ? { against } : {}),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    for (const child of children.reverse()) await child.stop(5_000).catch(() => undefined);
    server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function print(r: ReplicasResult): string {
  const row = (what: string, f: Figures) => [what, String(f.n), f.p50, f.p90, f.p99, f.max];
  const rows = (what: string, of: Record<string, Figures>) =>
    Object.entries(of).map(([name, f]) => row(`${what}, ${name}`, f));
  return `${formatTable([
    ['decided on A → effect on B (ms)', 'n', 'p50', 'p90', 'p99', 'max'],
    ...rows("approval: call reaches B's upstream", r.released),
    ...rows('approval: agent has the answer', r.approval),
    ...rows('  B running an ungated call, same client', r.ungated),
    ...rows('kill cancels in-flight call', r.kill),
    ...rows('of which A answering the approve', r.answeredByA.approve),
    row('of which A answering kill (all)', r.answeredByA.kill),
  ])}\n(two gateway processes per contender on one PostgreSQL, a database each, rounds rotated${
    r.against ? `; against ${r.against.ref} (${r.against.commit.slice(0, 12)}), both builds compiled` : ''
  }; target ≤ 100 ms p99 with NOTIFY)`;
}

export function targets(r: ReplicasResult): Target[] {
  const p99 = (f: Figures | undefined) => f?.p99 ?? Number.NaN;
  return [
    targetOn(
      "approval on A: call reaches B's upstream, p99 ≤ 100 ms (NOTIFY)",
      p99(r.released.notify),
      ' ms',
      (v) => v <= 100,
    ),
    targetOn(
      'approval on A releases call on B, agent has the answer, p99 ≤ 100 ms (NOTIFY)',
      p99(r.approval.notify),
      ' ms',
      (v) => v <= 100,
    ),
    targetOn(
      'kill on A cancels call on B, p99 ≤ 100 ms (NOTIFY)',
      p99(r.kill.notify),
      ' ms',
      (v) => v <= 100,
    ),
  ];
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rounds = argValue('--rounds');
  const killRounds = argValue('--kill-rounds');
  const against = argValue('--against');
  const result = await run({
    ...(rounds !== undefined ? { rounds: Number(rounds) } : {}),
    ...(killRounds !== undefined ? { killRounds: Number(killRounds) } : {}),
    ...(against !== undefined ? { against } : {}),
  });
  process.stdout.write(`${print(result)}\n`);
  // Leftover keep-alive sockets must not hold the process.
  setTimeout(() => process.exit(), 1_000).unref();
}
