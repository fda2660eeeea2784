/**
 * Streaming through the LLM proxy vs directly to the same fake Messages API,
 * side by side in one run: time to first byte and to last byte (p50/p99), and
 * the cost of the budget reservation per request.
 *
 *   npx tsx bench/llm.bench.ts
 */
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startGateway } from '../src/gateway/gateway.js';
import { loadPolicyFile } from '../src/policy/load.js';
import { startFakeAnthropic } from '../test/fakes/fake-anthropic.js';
import { formatTable, percentile } from './lib/stats.js';

const KEY = 'sk-ant-real-key-for-tests-0123456789';

export interface LlmBenchRow {
  path: string;
  firstP50: number;
  firstP99: number;
  lastP50: number;
  lastP99: number;
}

async function timeStream(url: string, key: string): Promise<{ first: number; last: number }> {
  const t0 = performance.now();
  const response = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'claude-test',
      max_tokens: 20,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let first = 0;
  for (;;) {
    const { done } = await reader.read();
    if (!first) first = performance.now() - t0;
    if (done) break;
  }
  return { first, last: performance.now() - t0 };
}

export async function run(
  options: { requests?: number } = {},
): Promise<{ rows: LlmBenchRow[]; reserveUs: number }> {
  const n = options.requests ?? 200;
  const fake = await startFakeAnthropic();
  fake.delayMs = 1;
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-llm-bench-'));
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1\nstore: { sqlite: ./bench.db }\nupstreams: {}\nllm:\n  base_url: ${fake.url}\n  api_key: { secret: ANTHROPIC_API_KEY }\nprofiles:\n  bench:\n    budgets: { tokens: { output: 100000000 } }\n`,
  );
  const gateway = await startGateway({
    loaded: loadPolicyFile(join(dir, 'policy.yaml')),
    port: 0,
    home: join(dir, 'home'),
    env: { ANTHROPIC_API_KEY: KEY },
    logDestination: createWriteStream(join(dir, 'gateway.log')),
  });
  try {
    const { token } = await gateway.runs.create('bench');
    const direct = { first: [] as number[], last: [] as number[] };
    const proxied = { first: [] as number[], last: [] as number[] };
    for (let i = 0; i < 20; i++) {
      await timeStream(fake.url, KEY);
      await timeStream(gateway.url, token);
    }
    for (let i = 0; i < n; i++) {
      const d = await timeStream(fake.url, KEY);
      const p = await timeStream(gateway.url, token);
      direct.first.push(d.first);
      direct.last.push(d.last);
      proxied.first.push(p.first);
      proxied.last.push(p.last);
    }
    const row = (path: string, s: { first: number[]; last: number[] }): LlmBenchRow => {
      const f = [...s.first].sort((a, b) => a - b);
      const l = [...s.last].sort((a, b) => a - b);
      return {
        path,
        firstP50: percentile(f, 50),
        firstP99: percentile(f, 99),
        lastP50: percentile(l, 50),
        lastP99: percentile(l, 99),
      };
    };
    // The reservation alone: reserve + settle against the store, as each request does.
    const { run: r } = await gateway.runs.create('bench');
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) {
      const res = await gateway.store.tokens.reserve(
        r.id,
        { input: 10, output: 10, usd: 0 },
        { output: 1e12 },
        1,
      );
      if (res.ok) await gateway.store.tokens.settle(res.id, { input: 10, output: 5, usd: 0 });
    }
    const reserveUs = ((performance.now() - t0) / 2000) * 1000;
    return { rows: [row('direct to the API', direct), row('through bulkhead', proxied)], reserveUs };
  } finally {
    await gateway.close();
    await fake.close();
  }
}

export function print(result: { rows: LlmBenchRow[]; reserveUs: number }): string {
  const [d, p] = result.rows;
  return [
    formatTable([
      ['streaming /v1/messages', 'first byte p50', 'p99', 'last byte p50', 'p99'],
      ...result.rows.map((r) => [r.path, r.firstP50, r.firstP99, r.lastP50, r.lastP99]),
    ]),
    d && p
      ? `added: first byte p50 ${(p.firstP50 - d.firstP50).toFixed(2)} ms, last byte p50 ${(p.lastP50 - d.lastP50).toFixed(2)} ms`
      : '',
    `budget reservation + settlement per request: ${result.reserveUs.toFixed(0)} µs`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.stdout.write(`${print(await run())}\n`);
