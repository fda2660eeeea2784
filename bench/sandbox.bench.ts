/**
 * The sandbox's costs, side by side in one run:
 *   start-up   a jailed `true` (bwrap + cgroup + bridges) vs a bare spawn of `true`
 *   egress     100 MB downloaded through the egress proxy vs directly, on loopback
 *
 *   npx tsx bench/sandbox.bench.ts
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer as createHttp, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEgressProxy, startJail } from '../src/sandbox/index.js';
import { formatTable, median, percentile } from './lib/stats.js';

export interface SandboxBench {
  startup: { bareP50: number; bareP99: number; jailedP50: number; jailedP99: number; addedP50: number };
  egress: { directMBs: number; proxyMBs: number; ratio: number };
}

async function bare(): Promise<number> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/true');
  await once(child, 'exit');
  return performance.now() - t0;
}

async function jailed(workdir: string, i: number): Promise<number> {
  const t0 = performance.now();
  const handle = await startJail({
    runId: `run_bench${i}`,
    workdir,
    command: ['/usr/bin/true'],
    env: {},
    limits: { memoryBytes: 256 * 1024 * 1024, pids: 64, cpu: 1, tmpBytes: 16 * 1024 * 1024 },
    egress: [],
    gatewayUrl: 'http://127.0.0.1:9',
  });
  await handle.exited;
  return performance.now() - t0;
}

const SIZE = 100 * 1024 * 1024;

async function download(options: { host: string; port: number; path: string }): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    get(options, (res) => {
      res.on('data', () => undefined);
      res.on('end', resolve);
    }).on('error', reject);
  });
  return (SIZE / 1024 / 1024 / (performance.now() - t0)) * 1000;
}

export async function run(options: { runs?: number; rounds?: number } = {}): Promise<SandboxBench> {
  const runs = options.runs ?? 50;
  const workdir = mkdtempSync(join(tmpdir(), 'bulkhead-bench-wd-'));
  const bareTimes: number[] = [];
  const jailTimes: number[] = [];
  for (let i = 0; i < 3; i++) await jailed(workdir, -i); // warm-up
  for (let i = 0; i < runs; i++) {
    bareTimes.push(await bare());
    jailTimes.push(await jailed(workdir, i));
  }
  const sortedBare = [...bareTimes].sort((a, b) => a - b);
  const sortedJail = [...jailTimes].sort((a, b) => a - b);

  const chunk = Buffer.alloc(1024 * 1024, 7);
  const origin = createHttp((_req, res) => {
    res.writeHead(200, { 'content-length': SIZE });
    let sent = 0;
    const write = (): void => {
      while (sent < SIZE) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', write);
          return;
        }
      }
      res.end();
    };
    write();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const originPort = (origin.address() as AddressInfo).port;
  const proxy = createEgressProxy({ egress: [`127.0.0.1:${originPort}`], onEvent: () => undefined });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyPort = (proxy.address() as AddressInfo).port;
  const direct: number[] = [];
  const viaProxy: number[] = [];
  for (let i = 0; i < (options.rounds ?? 5); i++) {
    direct.push(await download({ host: '127.0.0.1', port: originPort, path: '/' }));
    viaProxy.push(
      await download({ host: '127.0.0.1', port: proxyPort, path: `http://127.0.0.1:${originPort}/` }),
    );
  }
  origin.close();
  proxy.close();
  const directMBs = median(direct);
  const proxyMBs = median(viaProxy);
  return {
    startup: {
      bareP50: percentile(sortedBare, 50),
      bareP99: percentile(sortedBare, 99),
      jailedP50: percentile(sortedJail, 50),
      jailedP99: percentile(sortedJail, 99),
      addedP50: percentile(sortedJail, 50) - percentile(sortedBare, 50),
    },
    egress: { directMBs, proxyMBs, ratio: proxyMBs / directMBs },
  };
}

export function print(r: SandboxBench): string {
  return [
    formatTable([
      ['start-up of `true`', 'p50 ms', 'p99 ms'],
      ['bare spawn', r.startup.bareP50, r.startup.bareP99],
      ['jailed (bwrap + cgroup + bridges)', r.startup.jailedP50, r.startup.jailedP99],
    ]),
    `added start-up p50: ${r.startup.addedP50.toFixed(1)} ms`,
    '',
    formatTable([
      ['100 MB over loopback', 'MB/s'],
      ['direct', r.egress.directMBs],
      ['through the egress proxy', r.egress.proxyMBs],
    ]),
    `proxy / direct throughput: ${r.egress.ratio.toFixed(2)}x`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.stdout.write(`${print(await run())}\n`);
