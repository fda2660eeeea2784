/**
 * Kill latency: time from the kill request (POST /api/runs/:id/kill) to the
 * in-flight call's refusal arriving at the agent, over many runs.
 *
 *   npx tsx bench/kill.bench.ts
 */
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectAgentClient } from '../src/agent/connect.js';
import { startGateway } from '../src/gateway/gateway.js';
import { loadPolicyFile } from '../src/policy/load.js';
import { formatTable, percentile } from './lib/stats.js';
import { type Target, targetOn } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function run(
  options: { runs?: number } = {},
): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-kill-bench-'));
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1
store: { sqlite: ./bench.db }
upstreams:
  everything:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'))}]
tools:
  everything:
    trigger-long-running-operation: { class: read, rename: slow }
profiles:
  bench:
    tools: [everything__slow]
`,
  );
  const gateway = await startGateway({
    loaded: loadPolicyFile(join(dir, 'policy.yaml')),
    port: 0,
    home: join(dir, 'home'),
    logDestination: createWriteStream(join(dir, 'g.log')),
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < (options.runs ?? 40); i++) {
      const { run: r, token } = await gateway.runs.create('bench');
      const client = await connectAgentClient({ mcpUrl: `${gateway.url}/mcp`, token });
      const call = client.callTool({ name: 'everything__slow', arguments: { duration: 30, steps: 30 } });
      await new Promise((res) => setTimeout(res, 50));
      const t0 = performance.now();
      await fetch(`${gateway.url}/api/runs/${r.id}/kill`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.localToken}` },
      });
      await call;
      times.push(performance.now() - t0);
      await client.close();
    }
  } finally {
    await gateway.close();
  }
  const sorted = times.sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    n: sorted.length,
  };
}

export function print(r: { p50: number; p99: number; max: number; n: number }): string {
  return `${formatTable([
    ['kill request → in-flight call refused', 'p50 ms', 'p99 ms', 'max ms'],
    [`${r.n} runs`, r.p50, r.p99, r.max],
  ])}\n(target ≤ 100 ms)`;
}

export function targets(r: { p99: number }): Target[] {
  return [targetOn('kill request → in-flight call refused, p99 ≤ 100 ms', r.p99, ' ms', (v) => v <= 100)];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.stdout.write(`${print(await run())}\n`);
