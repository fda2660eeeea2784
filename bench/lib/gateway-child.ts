/**
 * The gateway under benchmark, in its own process (as it is deployed), so the
 * benchmark's clients do not share its event loop. Starts the gateway on the
 * given policy, opens `runs` runs of profile `bench`, prints
 * `{"url", "tokens"}` as one JSON line, and closes cleanly on SIGTERM (which
 * also lets `--cpu-prof` write its profile).
 *
 *   node --import tsx bench/lib/gateway-child.ts POLICY RUNS
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startGateway } from '../../src/gateway/gateway.js';
import { loadPolicyFile } from '../../src/policy/load.js';
import { tracingFromEnv } from '../../src/telemetry/tracing.js';
import { onStop } from './proc.js';

const [policyFile, runsArg] = process.argv.slice(2);
if (!policyFile) {
  process.stderr.write('usage: gateway-child.ts POLICY [RUNS]\n');
  process.exit(2);
}
const dir = dirname(policyFile);
// On only when the benchmark passes OTEL_* variables (the "tracing on" contender).
const tracing = tracingFromEnv(process.env);
const gateway = await startGateway({
  ...(tracing ? { tracing } : {}),
  loaded: loadPolicyFile(policyFile),
  port: 0,
  home: join(dir, 'home'),
  logDestination: createWriteStream(join(dir, 'gateway.log')),
});
onStop(async () => {
  await gateway.close();
  await tracing?.shutdown();
});
// The soak bench asks for memory after a full GC (node --expose-gc): SIGUSR2 writes it to mem.json.
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  writeFileSync(
    join(dir, 'mem.json'),
    JSON.stringify({ at: Date.now(), gc: gc !== undefined, heapUsed, rss, ...gateway.mcp.stats() }),
  );
});
const tokens: string[] = [];
for (let i = 0; i < Math.min(Number(runsArg ?? 32), 256); i++) {
  tokens.push((await gateway.runs.create('bench', { ttlMs: 3_600_000 })).token);
}
process.stdout.write(`${JSON.stringify({ url: gateway.url, tokens })}\n`);
