/**
 * The main thread's CPU for one large answer on the HTTP path alone: the SDK
 * client over bulkhead's keep-alive fetch (http-fetch.ts) with large answers
 * cut in a worker (large-messages.ts), against the bench upstream, with no
 * gateway around it. CPU time of this thread and of the others (the worker)
 * per call, from /proc: a figure that barely moves with other load, for
 * comparing changes to the receiving path.
 *
 *   npx tsx bench/large-answer-cpu.ts [--mb 9] [--calls 20] [--cap 262144] [--from BUILT_SRC]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startChild } from './lib/proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
/** `--from DIR`: a built `src` folder (e.g. `dist/src`, or another ref's) instead of these sources. */
const fromIndex = process.argv.indexOf('--from');
const from = fromIndex > 0 ? resolve(process.argv[fromIndex + 1] as string) : undefined;
const load = <T>(path: string): Promise<T> =>
  import(from ? pathToFileURL(join(from, `${path}.js`)).href : `../src/${path}.js`) as Promise<T>;
const { keepAliveFetch } = await load<typeof import('../src/gateway/http-fetch.js')>('gateway/http-fetch');
const { largeMessages } =
  await load<typeof import('../src/gateway/large-messages.js')>('gateway/large-messages');
const { inspectionWorkers } =
  await load<typeof import('../src/inspect/worker/pool.js')>('inspect/worker/pool');
const mb = arg('--mb', 9);
const calls = arg('--calls', 20);
const cap = arg('--cap', 256 * 1024);

/** CPU ms from /proc: the main thread's user and system time (and minor page faults), and all other threads'. */
function cpuMs(): { main: number; mainSys: number; mainFaults: number; other: number } {
  const ticks = (file: string) => {
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return { user: Number(fields[11]), sys: Number(fields[12]), faults: Number(fields[7]) };
  };
  let main = { user: 0, sys: 0, faults: 0 };
  let all = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    const t = ticks(`/proc/self/task/${tid}/stat`);
    all += t.user + t.sys;
    if (tid === String(process.pid)) main = t;
  }
  return {
    main: (main.user + main.sys) * 10,
    mainSys: main.sys * 10,
    mainFaults: main.faults,
    other: (all - main.user - main.sys) * 10,
  };
}

const upstream = await startChild<number>(join(ROOT, 'bench/upstream.ts'), ['--http', '0'], { cwd: ROOT });
const http = keepAliveFetch({ maxBodyBytes: 64 * 1024 * 1024, large: largeMessages(() => cap) });
const client = new Client({ name: 'large-answer-cpu', version: '1' });
await client.connect(
  new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${upstream.ready}/mcp`), { fetch: http.fetch }),
);
const call = async () => {
  const result = await client.callTool({ name: 'blob', arguments: { bytes: mb * 1024 * 1024 } });
  const text = (result.content as { text: string }[])[0]?.text ?? '';
  if (text.length !== Math.min(mb * 1024 * 1024, cap + 1))
    throw new Error(`unexpected length ${text.length}`);
};
for (let i = 0; i < 3; i++) await call();
const before = cpuMs();
const t0 = performance.now();
for (let i = 0; i < calls; i++) await call();
const wall = performance.now() - t0;
const after = cpuMs();
process.stdout.write(
  `${mb} MB answers cut to ${cap} B, ${calls} calls: main thread ${((after.main - before.main) / calls).toFixed(1)} ms CPU/call ` +
    `(system ${((after.mainSys - before.mainSys) / calls).toFixed(1)}, ` +
    `${Math.round((after.mainFaults - before.mainFaults) / calls)} page faults), ` +
    `other threads ${((after.other - before.other) / calls).toFixed(1)} ms CPU/call, wall ${(wall / calls).toFixed(1)} ms/call\n`,
);
await client.close();
http.close();
await inspectionWorkers().close();
await upstream.stop();
