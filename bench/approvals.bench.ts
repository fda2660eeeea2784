/**
 * Approvals under load, side by side in one run:
 *   ungated calls with an empty approvals table vs with 1,000 pending approvals (ratio of p50 and p99),
 *     in alternating rounds
 *   time from the approve request to the upstream call starting (p50/p99)
 *
 *   npx tsx bench/approvals.bench.ts
 */
import { createWriteStream, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectAgentClient } from '../src/agent/connect.js';
import { type Approval, runHash } from '../src/approvals/approval.js';
import { type Gateway, startGateway } from '../src/gateway/gateway.js';
import { loadPolicyFile } from '../src/policy/load.js';
import { formatTable, percentile } from './lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function gateway(dir: string): Promise<Gateway> {
  const record = join(dir, 'received.jsonl');
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1
store: { sqlite: ./bench.db }
upstreams:
  orders:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'examples/support-desk/servers/orders.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: { ORDERS_API_TOKEN: bench-token-123456, ORDERS_DB: ${JSON.stringify(join(dir, 'orders.db'))}, BULKHEAD_RECORD: ${JSON.stringify(record)} }
tools:
  orders:
    get_order_status: { class: read }
    list_orders: { class: read, approval: { approvers: [admin] } }
profiles:
  bench:
    tools: [orders__get_order_status, orders__list_orders]
    loop_guard: { identical_calls: 1000000 }
`,
  );
  return startGateway({
    loaded: loadPolicyFile(join(dir, 'policy.yaml')),
    port: 0,
    home: join(dir, 'home'),
    logDestination: createWriteStream(join(dir, 'g.log')),
  });
}

interface Caller {
  call(i: number): Promise<number>;
  close(): Promise<void>;
}

async function ungatedCaller(gw: Gateway): Promise<Caller> {
  const { token } = await gw.runs.create('bench', { ttlMs: 3_600_000 });
  const client = await connectAgentClient({ mcpUrl: `${gw.url}/mcp`, token });
  return {
    async call(i) {
      const t0 = performance.now();
      await client.callTool({
        name: 'orders__get_order_status',
        arguments: { order_id: `ORD-${String((i % 500) + 1).padStart(6, '0')}` },
      });
      return performance.now() - t0;
    },
    close: () => client.close(),
  };
}

/** Rounds alternate between the two gateways, so machine noise hits both alike. */
async function ungated(a: Caller, b: Caller, calls: number, rounds: number): Promise<[number[], number[]]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < 50; i++) {
    await a.call(i);
    await b.call(i);
  }
  const per = Math.ceil(calls / rounds);
  for (let r = 0; r < rounds; r++) {
    const order: [Caller, number[]][] =
      r % 2 === 0
        ? [
            [a, ta],
            [b, tb],
          ]
        : [
            [b, tb],
            [a, ta],
          ];
    for (const [caller, times] of order) for (let i = 0; i < per; i++) times.push(await caller.call(i));
  }
  return [ta.sort((x, y) => x - y), tb.sort((x, y) => x - y)];
}

export async function run(options: { calls?: number; rounds?: number; approvals?: number } = {}) {
  const empty = await gateway(mkdtempSync(join(tmpdir(), 'bulkhead-apb-')));
  const loadedDir = mkdtempSync(join(tmpdir(), 'bulkhead-apb-'));
  const loaded = await gateway(loadedDir);
  try {
    const { run: r } = await loaded.runs.create('bench', { ttlMs: 3_600_000 });
    for (let i = 0; i < 1000; i++) {
      await loaded.store.approvals.create({
        id: `apr_bench_${i}`,
        runId: r.id,
        tool: 'orders__list_orders',
        toolClass: 'read',
        arguments: { limit: i },
        argsHash: `h${i}`,
        why: 'bench',
        quorum: 1,
        approvers: ['admin'],
        createdAt: Date.now(),
        expiresAt: Date.now() + 3_600_000,
      });
    }
    const ca = await ungatedCaller(empty);
    const cb = await ungatedCaller(loaded);
    const [a, b] = await ungated(ca, cb, options.calls ?? 1_000, options.rounds ?? 10);
    await ca.close();
    await cb.close();
    // Approve → upstream start: the upstream records the call on arrival.
    const record = join(loadedDir, 'received.jsonl');
    const { token } = await loaded.runs.create('bench', { ttlMs: 3_600_000 });
    const client = await connectAgentClient({ mcpUrl: `${loaded.url}/mcp`, token });
    const latencies: number[] = [];
    for (let i = 0; i < (options.approvals ?? 100); i++) {
      const call = client.callTool({ name: 'orders__list_orders', arguments: { limit: (i % 20) + 1 } });
      let pending: Approval | undefined;
      while (!pending) {
        pending = (await loaded.store.approvals.list({ state: 'pending', limit: 2000 })).find(
          (x) => x.argsHash !== undefined && !x.id.startsWith('apr_bench_'),
        );
        if (!pending) await new Promise((res) => setTimeout(res, 2));
      }
      const before = existsSync(record) ? readFileSync(record, 'utf8').split('\n').length : 0;
      const t0 = performance.now();
      // An approve names the run_hash the approver saw (refused if the arguments changed since).
      const approved = await fetch(`${loaded.url}/api/approvals/${pending.id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${loaded.localToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ args_hash: runHash(pending) }),
      });
      if (!approved.ok) throw new Error(`approve answered ${approved.status}: ${await approved.text()}`);
      while ((existsSync(record) ? readFileSync(record, 'utf8').split('\n').length : 0) <= before)
        await new Promise((res) => setTimeout(res, 0.5));
      latencies.push(performance.now() - t0);
      await call;
    }
    await client.close();
    const sorted = latencies.sort((x, y) => x - y);
    return {
      ungated: {
        n: a.length,
        emptyP50: percentile(a, 50),
        emptyP99: percentile(a, 99),
        loadedP50: percentile(b, 50),
        loadedP99: percentile(b, 99),
        ratio: percentile(b, 50) / percentile(a, 50),
        ratioP99: percentile(b, 99) / percentile(a, 99),
      },
      approveToUpstream: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), n: sorted.length },
    };
  } finally {
    await empty.close();
    await loaded.close();
  }
}

export function print(r: Awaited<ReturnType<typeof run>>): string {
  return [
    formatTable([
      [`ungated tools/call (${r.ungated.n} each)`, 'p50 ms', 'p99 ms'],
      ['no pending approvals', r.ungated.emptyP50, r.ungated.emptyP99],
      ['1,000 pending approvals', r.ungated.loadedP50, r.ungated.loadedP99],
    ]),
    `ratio with/without pending approvals: p50 ${r.ungated.ratio.toFixed(2)}x, p99 ${r.ungated.ratioP99.toFixed(2)}x`,
    `approve request → upstream call starts: p50 ${r.approveToUpstream.p50.toFixed(1)} ms, p99 ${r.approveToUpstream.p99.toFixed(1)} ms (${r.approveToUpstream.n} approvals)`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.stdout.write(`${print(await run())}\n`);
