/**
 * The main thread's CPU for one large answer on the HTTP path alone: the SDK
 * client over bulkhead's keep-alive fetch (http-fetch.ts) with large answers
 * cut in a worker (large-messages.ts), against the bench upstream, with no
 * gateway around it. CPU time of this thread and of the others (the worker)
 * per call, from /proc: a figure that barely moves with other load, for
 * comparing changes to the receiving path.
 *
 *   npx tsx bench/large-answer-cpu.ts [--mb 9] [--calls 20] [--cap 262144]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { keepAliveFetch } from '../src/gateway/http-fetch.js';
import { largeMessages } from '../src/gateway/large-messages.js';
import { inspectionWorkers } from '../src/inspect/worker/pool.js';
import { startChild } from './lib/proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const mb = arg('--mb', 9);
const calls = arg('--calls', 20);
const cap = arg('--cap', 256 * 1024);

/** CPU ms from /proc: the main thread's user and system time, and all other threads'. */
function cpuMs(): { main: number; mainSys: number; other: number } {
  const ticks = (file: string) => {
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return { user: Number(fields[11]), sys: Number(fields[12]) };
  };
  let main = { user: 0, sys: 0 };
  let all = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    const t = ticks(`/proc/self/task/${tid}/stat`);
    all += t.user + t.sys;
    if (tid === String(process.pid)) main = t;
  }
  return {
    main: (main.user + main.sys) * 10,
    mainSys: main.sys * 10,
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
    `(system ${((after.mainSys - before.mainSys) / calls).toFixed(1)}), ` +
    `other threads ${((after.other - before.other) / calls).toFixed(1)} ms CPU/call, wall ${(wall / calls).toFixed(1)} ms/call\n`,
);
await client.close();
http.close();
await inspectionWorkers().close();
await upstream.stop();
