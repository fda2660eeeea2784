/**
 * The sandbox's costs, side by side in one run:
 *   start-up   a jailed `true` (bwrap + seccomp + cgroup + sockets + bridges) vs bwrap alone
 *              vs a bare spawn of `true`, interleaved, p50/p99
 *   egress     100 MB with curl: directly, through the egress proxy (plain HTTP and a CONNECT
 *              tunnel), and from inside a jail (loopback -> the proxy's own listener in the jail;
 *              and, interleaved, the earlier path: socat bridge -> Unix socket -> proxy);
 *              median of several rounds, on loopback, the origin in its own process. The proxy
 *              parses and checks the request, and the answer's body goes through the one-way
 *              splice relay (egress-forward.ts, egress-splice.ts). Two references with no checks
 *              beside them: a bare node socket pipe, and socat relaying each connection (what a
 *              native user-space relay on a second TCP connection reaches on this host)
 *   tunnel     100 MB of raw bytes (a socat client: neither TLS nor HTTP, so after the check the
 *              tunnel is the two-way relay's, egress-relay.ts):
 *              directly, through the proxy with each relay (the long-lived splice relay, socat
 *              per tunnel, node piping, interleaved), and from inside a jail (its proxy picks the
 *              relay itself), with the proxy listening in the jail and through the socat bridge
 *
 *   npx tsx bench/sandbox.bench.ts    (--egress-only: no start-up rows; --tunnel-only: raw tunnels only)
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { JAIL_PROXY_PORT } from '../src/sandbox/bridge.js';
import { bwrapArgv } from '../src/sandbox/bwrap-argv.js';
import { createRelay, type RelayKind } from '../src/sandbox/egress-relay.js';
import { createEgressProxy, startJail } from '../src/sandbox/index.js';
import { freePort, waitForTcp } from './lib/proc.js';
import { formatTable, median, percentile } from './lib/stats.js';
import { type Target, targetOn, withFloor } from './lib/targets.js';

export interface SandboxBench {
  startup: {
    bareP50: number;
    bareP99: number;
    bwrapP50: number;
    bwrapP99: number;
    jailedP50: number;
    jailedP99: number;
    addedP50: number;
    /** Median ms since startJail was called at which each phase ended (JailHandle.phases). */
    phases: Record<string, number>;
  };
  /** MB/s, median of the rounds. */
  egress: {
    direct: number;
    /** A bare node socket pipe with no checks: the ceiling of any node proxy on this host. */
    nodePipe: number;
    /**
     * socat relaying each connection with no checks: a native user-space relay, so what any proxy
     * that keeps a second TCP connection (and copies through user space) can reach here.
     */
    socatRelay: number;
    proxyHttp: number;
    proxyConnect: number;
    jailHttp: number;
    jailConnect: number;
    /** The same two through the in-jail socat bridge (the path before the proxy listened in the jail). */
    jailHttpBridge: number;
    jailConnectBridge: number;
  };
  /** MB/s of a raw-bytes CONNECT tunnel, median of the rounds. */
  tunnel: {
    direct: number;
    splice: number;
    socat: number;
    node: number;
    jail: number;
    jailBridge: number;
  };
}

async function bare(): Promise<number> {
  const t0 = performance.now();
  const child = spawn('/usr/bin/true');
  await once(child, 'exit');
  return performance.now() - t0;
}

/** bubblewrap alone with the jail's mounts and flags: no cgroup, seccomp, sockets or bridges. */
function bwrapOnlyArgv(): string[] {
  const runtime = mkdtempSync(join(tmpdir(), 'bulkhead-bench-rt-'));
  for (const f of ['passwd', 'group', 'hosts']) writeFileSync(join(runtime, f), '');
  return bwrapArgv({
    env: {},
    entry: ['/usr/bin/true'],
    tmpSizeBytes: 16 * 1024 * 1024,
    workdirSizeBytes: 64 * 1024 * 1024,
    runtimeDir: runtime,
  });
}

async function bwrapOnly(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawn('bwrap', argv, { stdio: 'ignore' });
  await once(child, 'exit');
  return performance.now() - t0;
}

async function jailed(workdir: string, i: number, phases?: Record<string, number[]>): Promise<number> {
  const t0 = performance.now();
  const handle = await startJail({
    runId: `run_bench${i}`,
    workdir,
    command: ['/usr/bin/true'],
    env: {},
    limits: { memoryBytes: 256 * 1024 * 1024, pids: 64, cpu: 1, tmpBytes: 16 * 1024 * 1024 },
    egress: [],
    gatewayUrl: 'http://127.0.0.1:9',
    stdio: 'ignore',
  });
  await handle.exited;
  const total = performance.now() - t0;
  for (const [name, ms] of Object.entries({ ...handle.phases, resolved: total })) {
    if (phases) phases[name] = [...(phases[name] ?? []), ms];
  }
  return total;
}

const SIZE = 100 * 1024 * 1024;

/** The origin server: answers every request with SIZE bytes, written in 1 MiB chunks. */
const ORIGIN = `
const SIZE = ${SIZE};
const chunk = Buffer.alloc(1024 * 1024, 7);
const server = require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-length': SIZE });
  let sent = 0;
  const write = () => {
    while (sent < SIZE) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', write);
    }
    res.end();
  };
  write();
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** A raw origin: after the client's first bytes, SIZE bytes and EOF. No HTTP, no TLS. */
const RAW_ORIGIN = `
const SIZE = ${SIZE};
const chunk = Buffer.alloc(1024 * 1024, 7);
// Half-open: the client's EOF after its first bytes must not end the reply.
const server = require('node:net').createServer({ allowHalfOpen: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.once('data', () => {
    let sent = 0;
    const write = () => {
      while (sent < SIZE) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', write);
      }
      socket.end();
    };
    write();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function spawnOrigin(source: string): Promise<{ port: number; kill: () => void }> {
  const origin = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [portLine] = (await once(origin.stdout, 'data')) as [Buffer];
  return { port: Number(portLine.toString().trim()), kill: () => origin.kill() };
}

/**
 * The raw client, the same shell line on the host and in the jail: socat (a C copy loop with
 * 128 KiB buffers; curl's telnet:// moves 16 KiB at a time and was the bottleneck) sends "GO",
 * half-closes, and reads to EOF. Prints bytes received and the elapsed ns; MB/s counts only a
 * complete transfer (a cut-short one is NaN, not a fast one).
 */
function rawClientLine(address: string): string {
  return `s=$(date +%s%N); n=$(echo GO | socat -t 60 -b 131072 STDIO ${address} | wc -c); e=$(date +%s%N); echo $n $((e - s))`;
}

function rawSpeed(output: string): number {
  const [bytes, ns] = output.trim().split(' ').map(Number);
  return bytes === SIZE && ns ? SIZE / 1024 / 1024 / (ns / 1e9) : Number.NaN;
}

async function rawClient(address: string): Promise<number> {
  const { stdout } = await promisify(execFile)('/bin/sh', ['-c', rawClientLine(address)]);
  return rawSpeed(stdout);
}

async function proxyWith(kind: RelayKind, originPort: number): Promise<{ port: number; close: () => void }> {
  const proxy = createEgressProxy({
    egress: [`127.0.0.1:${originPort}`],
    onEvent: () => undefined,
    relay: createRelay({ kind }),
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return { port: (proxy.address() as AddressInfo).port, close: () => proxy.close() };
}

/** socat relaying every connection to the origin, nothing checked; answers once it listens. */
async function startSocatRelay(originPort: number): Promise<{ url: string; kill: () => void }> {
  const port = await freePort();
  const relay = spawn(
    'socat',
    [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${originPort}`],
    { stdio: 'ignore' },
  );
  await waitForTcp(port);
  return { url: `http://127.0.0.1:${port}/`, kill: () => relay.kill() };
}

/** curl's own measure of one transfer (its start-up excluded), in MB/s. */
async function curl(args: string[]): Promise<number> {
  const { stdout } = await promisify(execFile)('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{speed_download}',
    ...args,
  ]);
  return Number(stdout) / 1024 / 1024;
}

/**
 * The same curl inside a jail: 127.0.0.1:7301 -> the egress proxy's own listener in the jail (or,
 * with `bridge`, the in-jail socat bridge -> Unix socket -> egress proxy) -> origin.
 */
async function jailCurl(
  workdir: string,
  originPort: number,
  i: number,
  mode: 'http' | 'connect' | 'raw',
  egressPort: 'listener' | 'bridge' = 'listener',
): Promise<number> {
  const line =
    mode === 'raw'
      ? rawClientLine(`PROXY:127.0.0.1:origin.bench:${originPort},proxyport=${JAIL_PROXY_PORT}`)
      : `curl -s -o /dev/null -w '%{speed_download}' ${mode === 'connect' ? '-p ' : ''}http://origin.bench:${originPort}/`;
  const handle = await startJail({
    runId: `run_benchcurl${mode}${i}`,
    egressPort,
    workdir,
    command: ['/bin/sh', '-c', `${line} > speed.txt`],
    env: {},
    // Both cores: the figure is the path's throughput, not the CPU quota's.
    limits: { memoryBytes: 256 * 1024 * 1024, pids: 64, cpu: 2, tmpBytes: 16 * 1024 * 1024 },
    egress: [`origin.bench:${originPort}`, `127.0.0.1:${originPort}`],
    resolve: async () => ['127.0.0.1'],
    gatewayUrl: 'http://127.0.0.1:9',
    stdio: 'ignore',
  });
  await handle.exited;
  const out = readFileSync(join(workdir, 'speed.txt'), 'utf8');
  return mode === 'raw' ? rawSpeed(out) : Number(out) / 1024 / 1024;
}

export async function run(
  options: { runs?: number; rounds?: number; tunnelOnly?: boolean; egressOnly?: boolean } = {},
): Promise<SandboxBench> {
  const runs = options.tunnelOnly || options.egressOnly ? 0 : (options.runs ?? 50);
  const workdir = mkdtempSync(join(tmpdir(), 'bulkhead-bench-wd-'));
  const bareTimes: number[] = [];
  const bwrapTimes: number[] = [];
  const jailTimes: number[] = [];
  const phaseTimes: Record<string, number[]> = {};
  const argv = bwrapOnlyArgv();
  for (let i = 0; i < (runs > 0 ? 3 : 0); i++) await jailed(workdir, -i); // warm-up
  // Interleaved, so a burst of load on the machine hits all three alike.
  for (let i = 0; i < runs; i++) {
    bareTimes.push(await bare());
    bwrapTimes.push(await bwrapOnly(argv));
    jailTimes.push(await jailed(workdir, i, phaseTimes));
  }
  const sortedBare = [...bareTimes].sort((a, b) => a - b);
  const sortedBwrap = [...bwrapTimes].sort((a, b) => a - b);
  const sortedJail = [...jailTimes].sort((a, b) => a - b);

  // The origin runs in its own process, as a remote server would: sharing this process's
  // thread with the proxy would charge the origin's work to the proxy.
  const origin = spawn(process.execPath, ['-e', ORIGIN], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [portLine] = (await once(origin.stdout, 'data')) as [Buffer];
  const originPort = Number(portLine.toString().trim());
  const proxy = createEgressProxy({ egress: [`127.0.0.1:${originPort}`], onEvent: () => undefined });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const url = `http://127.0.0.1:${originPort}/`;
  const pipe = createServer((client) => {
    const upstream = connect(originPort, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => pipe.listen(0, '127.0.0.1', r));
  const pipeUrl = `http://127.0.0.1:${(pipe.address() as AddressInfo).port}/`;
  const socatRelay = await startSocatRelay(originPort);
  const rows = {
    direct: [],
    nodePipe: [],
    socatRelay: [],
    proxyHttp: [],
    proxyConnect: [],
    jailHttp: [],
    jailConnect: [],
    jailHttpBridge: [],
    jailConnectBridge: [],
  } as Record<keyof SandboxBench['egress'], number[]>;
  for (let i = 0; i < (options.tunnelOnly ? 0 : (options.rounds ?? 5)); i++) {
    rows.direct.push(await curl(['--noproxy', '*', url]));
    rows.nodePipe.push(await curl(['--noproxy', '*', pipeUrl]));
    rows.socatRelay.push(await curl(['--noproxy', '*', socatRelay.url]));
    rows.proxyHttp.push(await curl(['-x', proxyUrl, url]));
    rows.proxyConnect.push(await curl(['-p', '-x', proxyUrl, url]));
    rows.jailHttp.push(await jailCurl(workdir, originPort, i, 'http'));
    rows.jailConnect.push(await jailCurl(workdir, originPort, i, 'connect'));
    rows.jailHttpBridge.push(await jailCurl(workdir, originPort, i, 'http', 'bridge'));
    rows.jailConnectBridge.push(await jailCurl(workdir, originPort, i, 'connect', 'bridge'));
  }
  origin.kill();
  proxy.close();
  pipe.close();
  socatRelay.kill();

  // Raw tunnels: each relay against direct, interleaved so load bursts hit them alike.
  const raw = await spawnOrigin(RAW_ORIGIN);
  const relays = {
    splice: await proxyWith('splice', raw.port),
    socat: await proxyWith('socat', raw.port),
    node: await proxyWith('none', raw.port),
  };
  const tunnelRows = { direct: [], splice: [], socat: [], node: [], jail: [], jailBridge: [] } as Record<
    keyof SandboxBench['tunnel'],
    number[]
  >;
  for (let i = 0; i < (options.rounds ?? 5); i++) {
    tunnelRows.direct.push(await rawClient(`TCP:127.0.0.1:${raw.port}`));
    for (const kind of ['splice', 'socat', 'node'] as const)
      tunnelRows[kind].push(
        await rawClient(`PROXY:127.0.0.1:127.0.0.1:${raw.port},proxyport=${relays[kind].port}`),
      );
    tunnelRows.jail.push(await jailCurl(workdir, raw.port, i, 'raw'));
    tunnelRows.jailBridge.push(await jailCurl(workdir, raw.port, i, 'raw', 'bridge'));
  }
  raw.kill();
  for (const relay of Object.values(relays)) relay.close();
  return {
    startup: {
      bareP50: percentile(sortedBare, 50),
      bareP99: percentile(sortedBare, 99),
      bwrapP50: percentile(sortedBwrap, 50),
      bwrapP99: percentile(sortedBwrap, 99),
      jailedP50: percentile(sortedJail, 50),
      jailedP99: percentile(sortedJail, 99),
      addedP50: percentile(sortedJail, 50) - percentile(sortedBare, 50),
      phases: Object.fromEntries(Object.entries(phaseTimes).map(([name, ms]) => [name, median(ms)])),
    },
    egress: {
      direct: median(rows.direct),
      nodePipe: median(rows.nodePipe),
      socatRelay: median(rows.socatRelay),
      proxyHttp: median(rows.proxyHttp),
      proxyConnect: median(rows.proxyConnect),
      jailHttp: median(rows.jailHttp),
      jailConnect: median(rows.jailConnect),
      jailHttpBridge: median(rows.jailHttpBridge),
      jailConnectBridge: median(rows.jailConnectBridge),
    },
    tunnel: {
      direct: median(tunnelRows.direct),
      splice: median(tunnelRows.splice),
      socat: median(tunnelRows.socat),
      node: median(tunnelRows.node),
      jail: median(tunnelRows.jail),
      jailBridge: median(tunnelRows.jailBridge),
    },
  };
}

export function print(r: SandboxBench): string {
  const e = r.egress;
  const vs = (mbs: number) => `${(mbs / e.direct).toFixed(2)}x`;
  const t = r.tunnel;
  const tvs = (mbs: number) => `${(mbs / t.direct).toFixed(2)}x`;
  return [
    formatTable([
      ['start-up of `true`', 'p50 ms', 'p99 ms'],
      ['bare spawn', r.startup.bareP50, r.startup.bareP99],
      ['bwrap alone (same mounts and flags)', r.startup.bwrapP50, r.startup.bwrapP99],
      ['jailed (bwrap + seccomp + cgroup + sockets + bridges)', r.startup.jailedP50, r.startup.jailedP99],
    ]),
    `added start-up p50: ${r.startup.addedP50.toFixed(1)} ms`,
    `jailed, where the time goes (median ms since startJail, at the end of each phase): ${Object.entries(
      r.startup.phases,
    )
      .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
      .join(', ')}`,
    '',
    formatTable([
      ['100 MB over loopback with curl (median)', 'MB/s', 'vs direct'],
      ['direct', e.direct, '1.00x'],
      ['bare node socket pipe, no checks (reference)', e.nodePipe, vs(e.nodePipe)],
      ['socat relay, no checks (reference: a native user-space relay)', e.socatRelay, vs(e.socatRelay)],
      ['through the egress proxy, plain HTTP', e.proxyHttp, vs(e.proxyHttp)],
      ['through the egress proxy, CONNECT tunnel', e.proxyConnect, vs(e.proxyConnect)],
      ['from the jail (proxy listening in the jail), plain HTTP', e.jailHttp, vs(e.jailHttp)],
      ['from the jail (proxy listening in the jail), CONNECT tunnel', e.jailConnect, vs(e.jailConnect)],
      [
        'from the jail (socat bridge + socket + proxy, before), plain HTTP',
        e.jailHttpBridge,
        vs(e.jailHttpBridge),
      ],
      [
        'from the jail (socat bridge + socket + proxy, before), CONNECT',
        e.jailConnectBridge,
        vs(e.jailConnectBridge),
      ],
    ]),
    '',
    formatTable([
      ['100 MB raw CONNECT tunnel, socat client (median)', 'MB/s', 'vs direct'],
      ['direct', t.direct, '1.00x'],
      ['through the proxy, long-lived splice relay (default)', t.splice, tvs(t.splice)],
      ['through the proxy, socat relay per tunnel (before)', t.socat, tvs(t.socat)],
      ['through the proxy, node piping', t.node, tvs(t.node)],
      ['from the jail (proxy listening in the jail + its relay)', t.jail, tvs(t.jail)],
      ['from the jail (socat bridge + socket + proxy + its relay, before)', t.jailBridge, tvs(t.jailBridge)],
    ]),
  ].join('\n');
}

export function targets(r: SandboxBench): Target[] {
  const e = r.egress;
  const ok = (v: number) => v >= 0.8;
  // The floor: the best relay that checks nothing (socat, or node piping), the same curl, same round.
  const relay = Math.max(e.socatRelay, e.nodePipe) / e.direct;
  const ratio = (name: string, mbs: number) =>
    withFloor(
      targetOn(`egress ${name} ≥ 0.8× direct`, mbs / e.direct, '×', ok),
      'a relay with no checks',
      relay,
      '×',
      ok,
    );
  return [
    targetOn('jailed `true` minus bare spawn, p50 ≤ 50 ms', r.startup.addedP50, ' ms', (v) => v <= 50),
    ratio('through the proxy, plain HTTP', e.proxyHttp),
    ratio('through the proxy, CONNECT', e.proxyConnect),
    ratio('from the jail, plain HTTP', e.jailHttp),
    ratio('from the jail, CONNECT', e.jailConnect),
    targetOn(
      'egress raw tunnel through the proxy ≥ 0.8× direct',
      r.tunnel.splice / r.tunnel.direct,
      '×',
      (v) => v >= 0.8,
    ),
    targetOn(
      'egress raw tunnel from the jail ≥ 0.8× direct',
      r.tunnel.jail / r.tunnel.direct,
      '×',
      (v) => v >= 0.8,
    ),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.stdout.write(
    `${print(
      await run({
        tunnelOnly: process.argv.includes('--tunnel-only'),
        egressOnly: process.argv.includes('--egress-only'),
        rounds: Number(process.env.ROUNDS ?? 5),
      }),
    )}\n`,
  );
