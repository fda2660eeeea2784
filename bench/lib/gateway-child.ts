/**
 * The gateway under benchmark, in its own process (as it is deployed), so the
 * benchmark's clients do not share its event loop. Starts the gateway on the
 * given policy, opens `runs` runs of profile `bench`, prints
 * `{"url", "tokens", "ids"}` as one JSON line, and closes cleanly on SIGTERM
 * (which also lets `--cpu-prof` write its profile). `BENCH_PROPAGATION` (JSON
 * of the gateway's `propagation` option) sets how it hears other replicas.
 *
 *   node --import tsx bench/lib/gateway-child.ts POLICY RUNS
 */
import { createWriteStream, readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PropagationOptions } from '../../src/gateway/gateway.js';
import { onStop } from './proc.js';

/**
 * BENCH_GATEWAY_FROM: a built `src` folder (`dist/src` of this tree or of another git ref, see
 * `--against`) to run instead of these sources through tsx, so two builds compare like for like.
 */
const from = process.env.BENCH_GATEWAY_FROM;
const load = <T>(path: string, source: () => Promise<T>): Promise<T> =>
  from ? (import(pathToFileURL(resolve(from, path)).href) as Promise<T>) : source();
const { startGateway } = await load('gateway/gateway.js', () => import('../../src/gateway/gateway.js'));
const { loadPolicyFile } = await load('policy/load.js', () => import('../../src/policy/load.js'));
const { tracingFromEnv } = await load('telemetry/tracing.js', () => import('../../src/telemetry/tracing.js'));

// As `bulkhead gateway` starts it (heap-headroom.ts); a build from before that module runs without.
const headroom = await load(
  'gateway/heap-headroom.js',
  () => import('../../src/gateway/heap-headroom.js'),
).catch(() => undefined);
headroom?.widenHeapHeadroom();

const [policyFile, runsArg] = process.argv.slice(2);
if (!policyFile) {
  process.stderr.write('usage: gateway-child.ts POLICY [RUNS]\n');
  process.exit(2);
}
const dir = dirname(policyFile);
// On only when the benchmark passes OTEL_* variables (the "tracing on" contender).
const tracing = tracingFromEnv(process.env);
const propagation = process.env.BENCH_PROPAGATION
  ? (JSON.parse(process.env.BENCH_PROPAGATION) as PropagationOptions)
  : undefined;
const gateway = await startGateway({
  ...(tracing ? { tracing } : {}),
  ...(propagation ? { propagation } : {}),
  loaded: loadPolicyFile(policyFile),
  port: 0,
  home: join(dir, 'home'),
  logDestination: createWriteStream(join(dir, 'gateway.log')),
});
onStop(async () => {
  await gateway.close();
  await tracing?.shutdown();
});
// The soak benches ask for memory after a full GC (node --expose-gc) and open descriptors:
// SIGUSR2 writes them to mem.json.
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  writeFileSync(
    join(dir, 'mem.json'),
    JSON.stringify({
      at: Date.now(),
      gc: gc !== undefined,
      heapUsed,
      rss,
      fds: readdirSync('/proc/self/fd').length,
      ...gateway.mcp?.stats(),
    }),
  );
});
// BENCH_PROFILE_OUT: SIGHUP starts a CPU profile, the next SIGHUP writes it there (a steady
// window only, without start-up; bench/gateway-steady.ts).
const profileOut = process.env.BENCH_PROFILE_OUT;
if (profileOut) {
  const inspector = new Session();
  inspector.connect();
  let profiling = false;
  process.on('SIGHUP', () => {
    if (!profiling) {
      profiling = true;
      inspector.post('Profiler.enable', () =>
        inspector.post('Profiler.setSamplingInterval', { interval: 200 }, () =>
          inspector.post('Profiler.start'),
        ),
      );
      return;
    }
    profiling = false;
    inspector.post('Profiler.stop', (error, result) => {
      writeFileSync(
        profileOut,
        error ? JSON.stringify({ error: String(error) }) : JSON.stringify(result.profile),
      );
    });
  });
}
const tokens: string[] = [];
const ids: string[] = [];
for (let i = 0; i < Math.min(Number(runsArg ?? 32), 256); i++) {
  const created = await gateway.runs.create('bench', { ttlMs: 3_600_000 });
  tokens.push(created.token);
  ids.push(created.run.id);
}
process.stdout.write(`${JSON.stringify({ url: gateway.url, tokens, ids })}\n`);
