/**
 * Streaming through the LLM proxy vs directly to the same fake Messages API,
 * side by side in one run, interleaved request by request so machine load
 * hits every path alike: time to first byte and to last byte (p50/p99).
 * A third path, a bare pass-through (same server stack and upstream client,
 * no authentication, no budget), separates the cost of the extra HTTP hop
 * from the cost of bulkhead's checks. Then the budget ledger's own cost per
 * operation on the SQLite store. With scrubbing on (every answer is scrubbed
 * event by event): the scrubber's own cost per SSE event, a 1 MB streamed
 * answer's throughput direct vs through bulkhead, and a soak of many plain
 * requests with the heap after GC sampled along the way (fails above a bound).
 * CPU per request is the whole process's (client, fake API and gateway share
 * it), so only the differences between paths are the proxy's.
 *
 * `--against REF` adds bulkhead as it is at a git ref, interleaved with the
 * others in the same process: both trees are compiled with tsc
 * (bench/lib/build-ref.ts) and each runs its own gateway and store.
 *
 *   npx tsx bench/llm.bench.ts [--requests 300] [--soak 100000] [--against GIT_REF]
 */
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { startGateway } from '../src/gateway/gateway.js';
import { anthropicDialect } from '../src/llm/anthropic-sse.js';
import { ScrubbedSse } from '../src/llm/scrubbed-sse.js';
import { cancelFor } from '../src/llm/signals.js';
import { postUpstream } from '../src/llm/upstream.js';
import { loadPolicyFile } from '../src/policy/load.js';
import { startFakeAnthropic } from '../test/fakes/fake-anthropic.js';
import { buildRef, buildWorkingTree } from './lib/build-ref.js';
import { formatTable, orderOf, percentile } from './lib/stats.js';
import { type Target, targetOn, withFloor } from './lib/targets.js';

const KEY = 'sk-ant-real-key-for-tests-0123456789';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface LlmBenchRow {
  path: string;
  firstP50: number;
  firstP99: number;
  lastP50: number;
  lastP99: number;
  /** CPU of the whole process per request (user + system), µs, p50. */
  cpuUsP50: number;
}

/** Per-request differences between two paths measured back to back, in ms. */
export interface Added {
  vs: string;
  firstP50: number;
  firstP99: number;
  lastP50: number;
  lastP99: number;
}

export interface LlmBenchResult {
  requests: number;
  /** With `--against`: the ref and the commit it named. */
  against?: { ref: string; commit: string };
  rows: LlmBenchRow[];
  added: Added[];
  /** Microseconds per operation on the SQLite ledger. */
  ledgerUs: { tokenReserve: number; tokenSettle: number; callReserve: number };
  /** Microseconds the scrubber adds per text_delta event (framing, parse, scrub, re-frame), median of runs. */
  eventUs: number;
  /** First byte with a ~210 KB conversation as the prompt: p50 per path and paired added, ms. */
  longPrompt: {
    directMs: number;
    bulkheadMs: number;
    addedMs: number;
    refAddedMs?: number;
    requests: number;
  };
  /** A 1 MB streamed answer (1,024 text deltas of 1 KB): median ms per path, and bulkhead's throughput as a share of direct. */
  bigStream: { directMs: number; bulkheadMs: number; ratio: number; rounds: number; refMs?: number };
  soak?: SoakResult;
}

export interface SoakResult {
  requests: number;
  /** Heap used after GC, MB, at each sample (after warm-up, then every tenth). */
  heapMb: number[];
  rssMb: number[];
  growthMb: number;
  boundMb: number;
  ok: boolean;
  seconds: number;
}

/** Heap growth over the soak above this fails the bench. */
export const SOAK_BOUND_MB = 16;

const SHORT_PROMPT = [{ role: 'user', content: 'hi' }];

/** A long conversation, about 210 KB of JSON: 200 turns of 1 KB of text each. */
export const LONG_PROMPT = Array.from({ length: 200 }, (_, i) => ({
  role: i % 2 ? 'assistant' : 'user',
  content: [{ type: 'text', text: `${'lorem ipsum dolor sit amet, '.repeat(36)}${i}` }],
}));

async function timeStream(
  url: string,
  key: string,
  messages: unknown[] = SHORT_PROMPT,
): Promise<{ first: number; last: number; cpuUs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const response = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-test', max_tokens: 20, stream: true, messages }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let first = 0;
  for (;;) {
    const { done } = await reader.read();
    if (!first) first = performance.now() - t0;
    if (done) break;
  }
  const last = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { first, last, cpuUs: cpu.user + cpu.system };
}

/** One retry: a pooled keep-alive socket the server closed while the ledger phase ran resets once. */
async function timeBody(url: string, key: string): Promise<number> {
  try {
    return await timeBodyOnce(url, key);
  } catch {
    return timeBodyOnce(url, key);
  }
}

async function timeBodyOnce(url: string, key: string): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'claude-test',
      max_tokens: 2000,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
  }
  if (bytes < 1_000_000) throw new Error(`short answer: ${bytes} bytes`);
  return performance.now() - t0;
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** The scrubber's cost per event, in-process: a realistic text delta, framed, parsed, scrubbed, re-framed. */
function scrubCostPerEvent(scrubber: Parameters<typeof anthropicDialect>[0]): number {
  const enc = new TextEncoder();
  const event = (i: number) =>
    enc.encode(
      `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ` token ${i} of a streamed answer,` } })}\n\n`,
    );
  const events = Array.from({ length: 20_000 }, (_, i) => event(i));
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const sse = new ScrubbedSse(anthropicDialect(scrubber), () => undefined);
    const t0 = performance.now();
    for (const e of events) sse.push(e);
    runs.push(((performance.now() - t0) / events.length) * 1000);
  }
  return median(runs);
}

/** Many plain requests, 8 at a time; heap after GC sampled at the start and every tenth. */
async function soak(
  url: string,
  key: string,
  requests: number,
  beforeSample: () => void,
): Promise<SoakResult> {
  // A gc() even without --expose-gc (npm run bench runs through tsx): the flag set at runtime
  // exposes it to a fresh context.
  setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  const body = JSON.stringify({
    model: 'claude-test',
    max_tokens: 5,
    messages: [{ role: 'user', content: 'hi' }],
  });
  const one = async () => {
    const r = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body,
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`status ${r.status}`);
  };
  const batch = async (n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < n) await one();
      }),
    );
  };
  const sample = () => {
    beforeSample();
    gc();
    gc();
    const m = process.memoryUsage();
    return { heap: m.heapUsed / 2 ** 20, rss: m.rss / 2 ** 20 };
  };
  await batch(Math.min(2000, requests / 10));
  const t0 = performance.now();
  const heapMb: number[] = [];
  const rssMb: number[] = [];
  let s = sample();
  heapMb.push(s.heap);
  rssMb.push(s.rss);
  for (let i = 0; i < 10; i++) {
    await batch(requests / 10);
    s = sample();
    heapMb.push(s.heap);
    rssMb.push(s.rss);
  }
  const growthMb = (heapMb.at(-1) as number) - (heapMb[0] as number);
  return {
    requests,
    heapMb,
    rssMb,
    growthMb,
    boundMb: SOAK_BOUND_MB,
    ok: growthMb <= SOAK_BOUND_MB,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The same hop without bulkhead's checks: what any proxy on this stack costs. */
async function startBarePassThrough(upstream: string): Promise<{ url: string; close(): void }> {
  const app = new Hono();
  app.post('/v1/messages', async (c) => {
    const answer = await postUpstream(
      new URL(`${upstream}/v1/messages`),
      { 'x-api-key': KEY, 'content-type': 'application/json' },
      await c.req.text(),
      cancelFor([], c.req.raw.signal),
    );
    const noTap = {
      chunk: (bytes: Uint8Array) => bytes,
      end: async () => undefined,
      cut: async () => undefined,
      cancelled: async () => undefined,
    };
    return new Response(answer.stream(noTap), {
      status: answer.status,
      headers: { 'content-type': String(answer.headers['content-type']) },
    });
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
  };
}

export async function perOp(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  return ((performance.now() - t0) / n) * 1000;
}

type Start = typeof startGateway;
type Load = typeof loadPolicyFile;

/** One gateway in this process, fronting the fake API with the bench's policy, its own store. */
async function benchGateway(start: Start, load: Load, dir: string, apiUrl: string) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1\nstore: { sqlite: ./bench.db }\nupstreams: {}\nllm:\n  base_url: ${apiUrl}\n  api_key: { secret: ANTHROPIC_API_KEY }\nprofiles:\n  bench:\n    budgets: { tokens: { output: 100000000 } }\n`,
  );
  return start({
    loaded: load(join(dir, 'policy.yaml')),
    port: 0,
    home: join(dir, 'home'),
    env: { ANTHROPIC_API_KEY: KEY },
    logDestination: createWriteStream(join(dir, 'gateway.log')),
  });
}

/** `startGateway` and `loadPolicyFile` from a compiled `src` folder (dist/src of a tree). */
async function compiled(src: string): Promise<{ start: Start; load: Load }> {
  const gateway = (await import(pathToFileURL(join(src, 'gateway/gateway.js')).href)) as {
    startGateway: Start;
  };
  const policy = (await import(pathToFileURL(join(src, 'policy/load.js')).href)) as { loadPolicyFile: Load };
  return { start: gateway.startGateway, load: policy.loadPolicyFile };
}

export async function run(
  options: { requests?: number; soak?: number; against?: string } = {},
): Promise<LlmBenchResult> {
  const n = options.requests ?? 300;
  const soakRequests = options.soak ?? 100_000;
  const fake = await startFakeAnthropic();
  fake.delayMs = 1;
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-llm-bench-'));
  // With --against, both gateways run compiled (tsc) code, so they differ only in their code.
  // Compiled as installed when `npm run bench` built the tree (BENCH_GATEWAY_FROM, bench/run.ts).
  const built = process.env.BENCH_GATEWAY_FROM;
  let mine = built ? await compiled(built) : { start: startGateway, load: loadPolicyFile };
  let theirs: { start: Start; load: Load; ref: string; commit: string } | undefined;
  if (options.against) {
    process.stderr.write(`llm bench: compiling this tree and ${options.against} (tsc)\n`);
    const [current, ref] = await Promise.all([
      buildWorkingTree(ROOT),
      buildRef(ROOT, options.against, join(dir, 'ref-tree')),
    ]);
    mine = await compiled(current);
    theirs = { ...(await compiled(ref.src)), ref: ref.ref, commit: ref.commit };
  }
  const gateway = await benchGateway(mine.start, mine.load, join(dir, 'this'), fake.url);
  const refGateway = theirs
    ? await benchGateway(theirs.start, theirs.load, join(dir, 'ref'), fake.url)
    : undefined;
  const bare = await startBarePassThrough(fake.url);
  try {
    const { token } = await gateway.runs.create('bench');
    const refToken = refGateway ? (await refGateway.runs.create('bench')).token : '';
    const refName = `through bulkhead at ${options.against ?? ''}`;
    const paths = [
      { name: 'direct to the API', url: fake.url, key: KEY },
      { name: 'bare pass-through (no checks)', url: bare.url, key: KEY },
      { name: 'through bulkhead', url: gateway.url, key: token },
      ...(refGateway ? [{ name: refName, url: refGateway.url, key: refToken }] : []),
    ];
    const samples = paths.map(() => ({ first: [] as number[], last: [] as number[], cpu: [] as number[] }));
    for (let i = 0; i < 30; i++) for (const p of paths) await timeStream(p.url, p.key);
    for (let i = 0; i < n; i++) {
      // Every order in turn, so no path always follows the same one (stats.ts `orderOf`).
      for (const j of orderOf(i, paths.length)) {
        const p = paths[j] as (typeof paths)[number];
        const t = await timeStream(p.url, p.key);
        samples[j]?.first.push(t.first);
        samples[j]?.last.push(t.last);
        samples[j]?.cpu.push(t.cpuUs);
      }
    }
    const rows = paths.map((p, j): LlmBenchRow => {
      const f = [...(samples[j]?.first ?? [])].sort((a, b) => a - b);
      const l = [...(samples[j]?.last ?? [])].sort((a, b) => a - b);
      return {
        path: p.name,
        firstP50: percentile(f, 50),
        firstP99: percentile(f, 99),
        lastP50: percentile(l, 50),
        lastP99: percentile(l, 99),
        cpuUsP50: median(samples[j]?.cpu ?? []),
      };
    });

    // Paired: request i on one path against request i on the other, sent back to back.
    const diff = (a: number, b: number, vs: string): Added => {
      const d = (k: 'first' | 'last') =>
        (samples[a]?.[k] ?? []).map((x, i) => x - (samples[b]?.[k][i] ?? 0)).sort((x, y) => x - y);
      const first = d('first');
      const last = d('last');
      return {
        vs,
        firstP50: percentile(first, 50),
        firstP99: percentile(first, 99),
        lastP50: percentile(last, 50),
        lastP99: percentile(last, 99),
      };
    };
    const added = [
      diff(2, 0, 'bulkhead vs direct'),
      diff(1, 0, 'the hop alone (bare vs direct)'),
      diff(2, 1, 'the checks alone (bulkhead vs bare)'),
      ...(refGateway
        ? [
            diff(3, 0, `bulkhead at ${options.against} vs direct`),
            diff(2, 3, `bulkhead vs bulkhead at ${options.against}`),
          ]
        : []),
    ];

    // A long conversation as the prompt: reading, checking, estimating and re-serialising it
    // are on the path to the first byte, which a two-word prompt hides.
    const long = { direct: [] as number[], through: [] as number[], ref: [] as number[] };
    const longRequests = Math.max(20, Math.round(n / 4));
    // Every order in turn, as above: when the gateway always came right after the direct request,
    // an A/A run (one tree against itself) read as a 1-3 ms regression.
    const longPaths = [
      { url: fake.url, key: KEY, into: long.direct },
      { url: gateway.url, key: token, into: long.through },
      ...(refGateway ? [{ url: refGateway.url, key: refToken, into: long.ref }] : []),
    ];
    for (let i = 0; i < longRequests + 5; i++) {
      for (const j of orderOf(i, longPaths.length)) {
        const p = longPaths[j] as (typeof longPaths)[number];
        const first = (await timeStream(p.url, p.key, LONG_PROMPT)).first;
        if (i >= 5) p.into.push(first);
      }
    }
    const longPrompt = {
      directMs: median(long.direct),
      bulkheadMs: median(long.through),
      addedMs: median(long.through.map((b, i) => b - (long.direct[i] ?? 0))),
      ...(refGateway ? { refAddedMs: median(long.ref.map((r, i) => r - (long.direct[i] ?? 0))) } : {}),
      requests: longRequests,
    };

    // The ledger alone, as each request and each tool call uses it: reserve, then settle,
    // with one reservation open at a time as in a run that sends one request after another.
    const { run: r } = await gateway.runs.create('bench');
    let reserveMs = 0;
    let settleMs = 0;
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      const res = await gateway.store.tokens.reserve(
        r.id,
        { input: 10, output: 10, usd: 0 },
        { output: 1e12 },
        1,
      );
      const t1 = performance.now();
      if (res.ok) await gateway.store.tokens.settle(res.id, { input: 10, output: 5, usd: 0 });
      settleMs += performance.now() - t1;
      reserveMs += t1 - t0;
    }
    const tokenReserve = (reserveMs / 2000) * 1000;
    const tokenSettle = (settleMs / 2000) * 1000;
    const callReserve = await perOp(2000, () =>
      gateway.store.calls.reserve({
        runId: r.id,
        tool: 'bench__tool',
        cap: 1e9,
        toolCap: 1e9,
        rate: { count: 1e9, perMs: 1000 },
        now: Date.now(),
      }),
    );
    const eventUs = scrubCostPerEvent(gateway.scrubber);

    // A 1 MB answer, 1,024 deltas of 1 KB sent back to back, read whole; interleaved rounds.
    fake.delayMs = 0;
    fake.script = [
      {
        type: 'text',
        chunks: Array.from({ length: 1024 }, (_, i) =>
          `${String(i).padStart(8, '0')} ${'lorem ipsum dolor sit amet '.repeat(38)}`.slice(0, 1024),
        ),
      },
    ];
    const direct: number[] = [];
    const through: number[] = [];
    const throughRef: number[] = [];
    for (let i = 0; i < 2; i++) {
      await timeBody(fake.url, KEY);
      await timeBody(gateway.url, token);
      if (refGateway) await timeBody(refGateway.url, refToken);
    }
    const rounds = 12;
    for (let i = 0; i < rounds; i++) {
      direct.push(await timeBody(fake.url, KEY));
      through.push(await timeBody(gateway.url, token));
      if (refGateway) throughRef.push(await timeBody(refGateway.url, refToken));
    }
    fake.script = undefined;
    const bigStream = {
      directMs: median(direct),
      bulkheadMs: median(through),
      ratio: median(direct) / median(through),
      rounds,
      ...(refGateway ? { refMs: median(throughRef) } : {}),
    };

    const result: LlmBenchResult = {
      requests: n,
      ...(theirs ? { against: { ref: theirs.ref, commit: theirs.commit } } : {}),
      rows,
      added,
      ledgerUs: { tokenReserve, tokenSettle, callReserve },
      eventUs,
      longPrompt,
      bigStream,
    };
    if (soakRequests > 0)
      result.soak = await soak(gateway.url, token, soakRequests, () => {
        // The fake API shares this process and logs every request it receives: that log is
        // the bench's, not the gateway's, so it is emptied before each heap sample.
        fake.received.length = 0;
      });
    return result;
  } finally {
    bare.close();
    await refGateway?.close();
    await gateway.close();
    await fake.close();
  }
}

/** The LLM proxy's targets: time to first byte added, a 1 MB stream's throughput, flat heap over the soak. */
export function targets(result: LlmBenchResult): Target[] {
  const direct = result.added.find((a) => a.vs === 'bulkhead vs direct');
  const hop = result.added.find((a) => a.vs === 'the hop alone (bare vs direct)');
  const firstByte = (v: number) => v <= 1;
  return [
    withFloor(
      targetOn(
        `added time to first byte p50 ≤ 1 ms (${direct?.vs ?? 'no pair measured'})`,
        direct?.firstP50 ?? Number.NaN,
        ' ms',
        firstByte,
      ),
      'the same server stack and upstream client, no checks',
      hop?.firstP50 ?? Number.NaN,
      ' ms',
      firstByte,
    ),
    targetOn('1 MB streamed answer ≥ 0.8× direct throughput', result.bigStream.ratio, '×', (v) => v >= 0.8),
    targetOn(
      `LLM soak: heap after GC grows ≤ ${result.soak?.boundMb ?? SOAK_BOUND_MB} MB over ${(result.soak?.requests ?? 0).toLocaleString('en')} requests (target 100,000)`,
      result.soak && result.soak.requests >= 100_000 ? result.soak.growthMb : Number.NaN,
      ' MB',
      (v) => v <= (result.soak?.boundMb ?? SOAK_BOUND_MB),
    ),
  ];
}

export function print(result: LlmBenchResult): string {
  return [
    ...(result.against
      ? [
          `against ${result.against.ref} (${result.against.commit.slice(0, 12)}): both gateways compiled with tsc, in this process, interleaved`,
        ]
      : []),
    formatTable([
      [
        `streaming /v1/messages (${result.requests} each, ms)`,
        'first byte p50',
        'p99',
        'last byte p50',
        'p99',
        'CPU µs/req p50',
      ],
      ...result.rows.map((r) => [r.path, r.firstP50, r.firstP99, r.lastP50, r.lastP99, r.cpuUsP50]),
    ]),
    '',
    formatTable([
      ['added per request (paired, ms)', 'first byte p50', 'p99', 'last byte p50', 'p99'],
      ...result.added.map((a) => [a.vs, a.firstP50, a.firstP99, a.lastP50, a.lastP99]),
    ]),
    '',
    `scrubbing per SSE event (text_delta, framed, parsed, scrubbed, re-framed): ${result.eventUs.toFixed(1)} µs`,
    `first byte with a ~210 KB conversation (p50 of ${result.longPrompt.requests}): direct ${result.longPrompt.directMs.toFixed(2)} ms, through bulkhead ${result.longPrompt.bulkheadMs.toFixed(2)} ms, added (paired) ${result.longPrompt.addedMs.toFixed(2)} ms${result.longPrompt.refAddedMs !== undefined ? `; at ${result.against?.ref} added ${result.longPrompt.refAddedMs.toFixed(2)} ms` : ''}`,
    `1 MB streamed answer (median of ${result.bigStream.rounds}): direct ${result.bigStream.directMs.toFixed(1)} ms, through bulkhead ${result.bigStream.bulkheadMs.toFixed(1)} ms → ${result.bigStream.ratio.toFixed(2)}× direct throughput (target ≥ 0.8×)${result.bigStream.refMs !== undefined ? `; at ${result.against?.ref} ${result.bigStream.refMs.toFixed(1)} ms` : ''}`,
    ...(result.soak
      ? [
          `soak: ${result.soak.requests} plain requests in ${result.soak.seconds.toFixed(0)} s; heap after GC ${result.soak.heapMb.map((m) => m.toFixed(1)).join(' → ')} MB; RSS ${result.soak.rssMb.map((m) => m.toFixed(0)).join(' → ')} MB; growth ${result.soak.growthMb.toFixed(1)} MB (bound ${result.soak.boundMb} MB): ${result.soak.ok ? 'flat' : 'FAILED'}`,
        ]
      : []),
    `ledger per operation (SQLite): token reserve ${result.ledgerUs.tokenReserve.toFixed(0)} µs, settle ${result.ledgerUs.tokenSettle.toFixed(0)} µs, tool-call reserve (cap, per-tool cap, rate) ${result.ledgerUs.callReserve.toFixed(0)} µs`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const requests = arg('--requests');
  const soakN = arg('--soak');
  const at = process.argv.indexOf('--against');
  const against = at > 0 ? process.argv[at + 1] : undefined;
  const result = await run({
    ...(requests !== undefined ? { requests } : {}),
    ...(soakN !== undefined ? { soak: soakN } : {}),
    ...(against ? { against } : {}),
  });
  process.stdout.write(`${print(result)}\n`);
  if (result.soak && !result.soak.ok) process.exitCode = 1;
}
