/**
 * The CLI as a person types it: start-up of a command (`bulkhead kill` of an
 * unknown run, which loads the command and does one API round trip), from
 * the build (`dist/`, what `npm install` now produces) against the sources
 * through tsx (what every command paid before); `bulkhead run -- true`
 * (jailed, and with --no-sandbox: the difference is the jail's share)
 * against `true`; `bulkhead kill` typed to the last jailed process gone; and,
 * the figure issue 15 sets its target on, the kill API's answer to the jailed
 * process gone and to `bulkhead run` exited (no CLI start-up in it; the jailed
 * process is found once in /proc and its state read every millisecond).
 * Rounds are interleaved. Wall times swing with the machine's load, so the
 * CPU time of each command's process tree (user + system of everything it
 * reaped, from bash's `times`, to the millisecond; the gateway's own work is
 * not in it) is reported beside them.
 *
 * NODE_EXTRA_CA_CERTS, when set, makes node 20 parse its own CA store and that
 * file at start-up, before any JavaScript runs (~60-80 ms of CPU on this
 * machine, where it is set): every node command pays it, `node -e 0` as much
 * as `node bin/bulkhead.js`; the launcher run through its shebang spares
 * `run` of it (DESIGN.md). The targets are measured with the environment as it is; when
 * the variable is set, `node -e 0` and `bulkhead run -- true` are also shown
 * without it, interleaved, so the part bulkhead controls can be read, and
 * `bulkhead run -- true` is also given over `node -e 0` in the same
 * environment (node's own start, which bulkhead cannot shorten, taken out).
 * `bulkhead run -- true` is also run as a person's shell runs it (bin/bulkhead.js
 * through its shebang, /bin/sh, which for `run` starts node without
 * NODE_EXTRA_CA_CERTS and hands the variable back to what the run starts).
 * `--against REF` adds `bulkhead run -- true` (jailed and --no-sandbox) as
 * built at a git ref (bench/lib/build-ref.ts, then its run bundle), in the
 * same rounds, against the same gateway.
 *
 *   npx tsx bench/cli.bench.ts [--rounds 7] [--against REF]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GatewayClient } from '../src/cli/client.js';
import { startGateway } from '../src/gateway/gateway.js';
import { loadPolicyFile } from '../src/policy/load.js';
import { buildRef } from './lib/build-ref.js';
import { formatTable, median, percentile } from './lib/stats.js';
import { type Target, targetOn, withFloor } from './lib/targets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/bulkhead.js');

export interface CliBench {
  rounds: number;
  startupDistMs: number;
  startupTsxMs: number;
  nodeBareMs: number;
  runTrueMs: number;
  runUnjailedMs: number;
  /** `bulkhead run -- true` through the launcher's shebang (what a person's shell does). */
  runTypedMs: number;
  trueMs: number;
  /** CPU ms (user + system) of the command's whole process tree, medians. */
  cpu: { nodeBare: number; runTrue: number; runUnjailed: number; runTyped: number };
  /** When NODE_EXTRA_CA_CERTS is set: the same commands without it (wall and CPU ms, medians). */
  withoutExtraCa?: { nodeBareMs: number; runTrueMs: number; cpuNodeBare: number; cpuRunTrue: number };
  /** With --against: `bulkhead run -- true` as built at REF, in the same rounds (wall and CPU ms, medians). */
  against?: {
    ref: string;
    commit: string;
    runTrueMs: number;
    runUnjailedMs: number;
    cpuRunTrue: number;
    cpuRunUnjailed: number;
  };
  killToGoneP50: number;
  killToGoneMax: number;
  /** The kill API answered → the jailed process gone / `bulkhead run` exited (ms). */
  apiKill: { rounds: number; goneP50: number; goneP99: number; exitedP50: number; exitedP99: number };
  load: string;
}

/** Wall time of one command. Asynchronous on purpose: the gateway answering it runs in this process. */
async function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const child = spawn(command, args, { env, stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return performance.now() - t0;
}

/**
 * CPU ms (user + system) of a command and every descendant it reaped, as wait4 reports them:
 * bash's `times` prints its children's to the millisecond (/usr/bin/time rounds to 10 ms, the
 * size of the jail's whole share).
 */
async function cpuOf(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(
    '/bin/bash',
    ['-c', '"$@" >/dev/null 2>&1 </dev/null; times', 'cpu', command, ...args],
    {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  await new Promise((r) => child.once('close', r));
  // Line 2 is the children's: "0m0.123s 0m0.045s".
  const seconds = (out.trim().split('\n')[1] ?? '').split(' ').map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
  });
  return ((seconds[0] ?? Number.NaN) + (seconds[1] ?? Number.NaN)) * 1000;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** The host pid of the jailed `sleep MARKER` (argv exactly that), or undefined. */
function jailedPid(marker: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'sleep' && argv[1] === marker) return Number(entry);
    } catch {
      // Gone between the listing and the read.
    }
  }
  return undefined;
}

/** Gone: no such process, or a zombie (dead, not yet reaped). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

function alive(marker: string): boolean {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.startsWith('sleep') && l.includes(marker));
}

/** REF built beside this tree with its `bulkhead run` bundle: the path of its bin/bulkhead.js. */
async function buildAgainst(ref: string, into: string): Promise<{ bin: string; commit: string }> {
  const built = await buildRef(ROOT, ref, into);
  return { bin: join(into, 'bin/bulkhead.js'), commit: built.commit };
}

export async function run(options: { rounds?: number; against?: string } = {}): Promise<CliBench> {
  const rounds = options.rounds ?? 7;
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-cli-bench-'));
  const other = options.against ? await buildAgainst(options.against, join(dir, 'against')) : undefined;
  writeFileSync(
    join(dir, 'policy.yaml'),
    'version: 1\nstore: { sqlite: ./bench.db }\nupstreams: {}\nprofiles:\n  bench:\n    tools: []\n    sandbox: { weaker_limits: true }\n',
  );
  const gateway = await startGateway({
    loaded: loadPolicyFile(join(dir, 'policy.yaml')),
    port: 0,
    home: join(dir, 'home'),
    logDestination: createWriteStream(join(dir, 'g.log')),
  });
  const work = mkdtempSync('/var/tmp/bulkhead-cli-bench-work-');
  const env = { ...process.env, BULKHEAD_GATEWAY: gateway.url, BULKHEAD_HOME: join(dir, 'home') };
  const fromSource = { ...env, BULKHEAD_FROM_SOURCE: '1' };
  const runArgs = [
    BIN,
    'run',
    '--policy',
    join(dir, 'policy.yaml'),
    '--profile',
    'bench',
    '--workdir',
    work,
    '--',
  ];
  const dist: number[] = [];
  const tsx: number[] = [];
  const bare: number[] = [];
  const runTrue: number[] = [];
  const runUnjailed: number[] = [];
  const plainTrue: number[] = [];
  const runTyped: number[] = [];
  const cpu = {
    nodeBare: [] as number[],
    runTrue: [] as number[],
    runUnjailed: [] as number[],
    runTyped: [] as number[],
  };
  const extraCa = process.env.NODE_EXTRA_CA_CERTS !== undefined;
  const noCa: NodeJS.ProcessEnv = { ...env };
  delete noCa.NODE_EXTRA_CA_CERTS;
  const without = {
    bare: [] as number[],
    runTrue: [] as number[],
    cpuBare: [] as number[],
    cpuRun: [] as number[],
  };
  const unjailedArgs = [...runArgs];
  unjailedArgs.splice(unjailedArgs.indexOf('--'), 0, '--no-sandbox');
  const ref = other
    ? {
        jailed: [other.bin, ...runArgs.slice(1)],
        unjailed: [other.bin, ...unjailedArgs.slice(1)],
        runTrue: [] as number[],
        runUnjailed: [] as number[],
        cpuRun: [] as number[],
        cpuUnjailed: [] as number[],
      }
    : undefined;
  const killToGone: number[] = [];
  const apiRounds = Math.max(20, rounds * 3);
  const apiGone: number[] = [];
  const apiExited: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      dist.push(await timed(process.execPath, [BIN, 'kill', 'run_none'], env));
      tsx.push(await timed(process.execPath, [BIN, 'kill', 'run_none'], fromSource));
      bare.push(await timed(process.execPath, ['-e', '0'], env));
      runTrue.push(await timed(process.execPath, [...runArgs, 'true'], env));
      runUnjailed.push(await timed(process.execPath, [...unjailedArgs, 'true'], env));
      plainTrue.push(await timed('true', [], env));
      cpu.nodeBare.push(await cpuOf(process.execPath, ['-e', '0'], env));
      cpu.runTrue.push(await cpuOf(process.execPath, [...runArgs, 'true'], env));
      cpu.runUnjailed.push(await cpuOf(process.execPath, [...unjailedArgs, 'true'], env));
      runTyped.push(await timed(BIN, [...runArgs.slice(1), 'true'], env));
      cpu.runTyped.push(await cpuOf(BIN, [...runArgs.slice(1), 'true'], env));
      if (ref) {
        ref.runTrue.push(await timed(process.execPath, [...ref.jailed, 'true'], env));
        ref.runUnjailed.push(await timed(process.execPath, [...ref.unjailed, 'true'], env));
        ref.cpuRun.push(await cpuOf(process.execPath, [...ref.jailed, 'true'], env));
        ref.cpuUnjailed.push(await cpuOf(process.execPath, [...ref.unjailed, 'true'], env));
      }
      if (extraCa) {
        without.bare.push(await timed(process.execPath, ['-e', '0'], noCa));
        without.runTrue.push(await timed(process.execPath, [...runArgs, 'true'], noCa));
        without.cpuBare.push(await cpuOf(process.execPath, ['-e', '0'], noCa));
        without.cpuRun.push(await cpuOf(process.execPath, [...runArgs, 'true'], noCa));
      }

      const marker = `${600 + i}.${process.pid}`;
      const running = spawn(process.execPath, [...runArgs, 'sleep', marker], { env, stdio: 'ignore' });
      for (let waited = 0; !alive(marker); waited += 20) {
        if (running.exitCode !== null || waited > 30_000)
          throw new Error(`bulkhead run -- sleep did not start (exit ${running.exitCode})`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const runId = (await gateway.runs.list({ state: 'active' }))[0]?.id as string;
      const t0 = performance.now();
      const kill = spawn(process.execPath, [BIN, 'kill', runId], { env, stdio: 'ignore' });
      while (alive(marker)) await new Promise((r) => setTimeout(r, 2));
      killToGone.push(performance.now() - t0);
      // Either may have exited while the loop above polled: waiting for an 'exit' already emitted hung the bench.
      await exited(kill);
      await exited(running);
    }

    // The kill API alone: what the jail's watcher costs after the gateway has decided.
    process.env.BULKHEAD_HOME = env.BULKHEAD_HOME;
    const operator = new GatewayClient({ gateway: gateway.url });
    for (let i = 0; i < apiRounds; i++) {
      const marker = `${700 + i}.${process.pid}`;
      const running = spawn(process.execPath, [...runArgs, 'sleep', marker], { env, stdio: 'ignore' });
      const runExited = exited(running).then(() => performance.now());
      let pid = jailedPid(marker);
      for (let waited = 0; pid === undefined; waited += 10) {
        if (running.exitCode !== null || waited > 30_000)
          throw new Error(`bulkhead run -- sleep did not start (exit ${running.exitCode})`);
        await new Promise((r) => setTimeout(r, 10));
        pid = jailedPid(marker);
      }
      const runId = (await gateway.runs.list({ state: 'active' }))[0]?.id as string;
      await operator.post(`/api/runs/${runId}/kill`, {});
      const answered = performance.now();
      while (!gone(pid)) await new Promise((r) => setTimeout(r, 1));
      apiGone.push(performance.now() - answered);
      apiExited.push((await runExited) - answered);
    }
  } finally {
    await gateway.close();
  }
  apiGone.sort((a, b) => a - b);
  apiExited.sort((a, b) => a - b);
  const sorted = [...killToGone].sort((a, b) => a - b);
  return {
    rounds,
    startupDistMs: median(dist),
    startupTsxMs: median(tsx),
    nodeBareMs: median(bare),
    runTrueMs: median(runTrue),
    runUnjailedMs: median(runUnjailed),
    runTypedMs: median(runTyped),
    trueMs: median(plainTrue),
    cpu: {
      nodeBare: median(cpu.nodeBare),
      runTrue: median(cpu.runTrue),
      runUnjailed: median(cpu.runUnjailed),
      runTyped: median(cpu.runTyped),
    },
    ...(extraCa
      ? {
          withoutExtraCa: {
            nodeBareMs: median(without.bare),
            runTrueMs: median(without.runTrue),
            cpuNodeBare: median(without.cpuBare),
            cpuRunTrue: median(without.cpuRun),
          },
        }
      : {}),
    ...(ref && other && options.against
      ? {
          against: {
            ref: options.against,
            commit: other.commit.slice(0, 7),
            runTrueMs: median(ref.runTrue),
            runUnjailedMs: median(ref.runUnjailed),
            cpuRunTrue: median(ref.cpuRun),
            cpuRunUnjailed: median(ref.cpuUnjailed),
          },
        }
      : {}),
    killToGoneP50: percentile(sorted, 50),
    killToGoneMax: sorted.at(-1) ?? Number.NaN,
    apiKill: {
      rounds: apiRounds,
      goneP50: percentile(apiGone, 50),
      goneP99: percentile(apiGone, 99),
      exitedP50: percentile(apiExited, 50),
      exitedP99: percentile(apiExited, 99),
    },
    load: execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim(),
  };
}

export function print(r: CliBench): string {
  const { cpu } = r;
  const noCa = r.withoutExtraCa;
  const rows: (string | number)[][] = [
    [`CLI (medians of ${r.rounds} rounds)`, 'wall ms', 'CPU ms', 'target'],
    ['node -e 0 (floor)', r.nodeBareMs, cpu.nodeBare, ''],
    ['bulkhead kill, from dist/', r.startupDistMs, '', ''],
    ['bulkhead kill, sources through tsx (before)', r.startupTsxMs, '', ''],
    ['bulkhead run -- true (jailed) minus true', r.runTrueMs - r.trueMs, cpu.runTrue, '≤ 150'],
    [
      "  the same minus node -e 0 (node's own start, same environment)",
      r.runTrueMs - r.nodeBareMs,
      cpu.runTrue - cpu.nodeBare,
      '≤ 150',
    ],
    [
      'bulkhead run -- true as typed (bin/bulkhead.js through its shebang) minus true',
      r.runTypedMs - r.trueMs,
      cpu.runTyped,
      '≤ 150',
    ],
    ['bulkhead run --no-sandbox -- true minus true', r.runUnjailedMs - r.trueMs, cpu.runUnjailed, ''],
    [
      "  the jail's share (jailed minus --no-sandbox)",
      r.runTrueMs - r.runUnjailedMs,
      cpu.runTrue - cpu.runUnjailed,
      '≤ 50',
    ],
    ['bulkhead kill typed → jailed tree gone, p50', r.killToGoneP50, '', '≤ 500'],
    ['bulkhead kill typed → jailed tree gone, max', r.killToGoneMax, '', ''],
    [`kill API answered → jailed process gone, p50 (${r.apiKill.rounds} runs)`, r.apiKill.goneP50, '', ''],
    ['kill API answered → jailed process gone, p99', r.apiKill.goneP99, '', '≤ 100'],
    ['kill API answered → bulkhead run exited, p50', r.apiKill.exitedP50, '', ''],
    ['kill API answered → bulkhead run exited, p99', r.apiKill.exitedP99, '', '≤ 250'],
  ];
  if (noCa) {
    rows.push(
      ['without NODE_EXTRA_CA_CERTS: node -e 0', noCa.nodeBareMs, noCa.cpuNodeBare, ''],
      [
        'without NODE_EXTRA_CA_CERTS: bulkhead run -- true minus true',
        noCa.runTrueMs - r.trueMs,
        noCa.cpuRunTrue,
        '',
      ],
    );
  }
  const a = r.against;
  if (a) {
    rows.push(
      [`${a.ref} (${a.commit}): bulkhead run -- true minus true`, a.runTrueMs - r.trueMs, a.cpuRunTrue, ''],
      [
        `${a.ref} (${a.commit}): bulkhead run --no-sandbox -- true minus true`,
        a.runUnjailedMs - r.trueMs,
        a.cpuRunUnjailed,
        '',
      ],
    );
  }
  return `${formatTable(rows)}\nload: ${r.load}`;
}

export function targets(r: CliBench): Target[] {
  const under150 = (v: number) => v <= 150;
  return [
    withFloor(
      targetOn('bulkhead run -- true minus true, median ≤ 150 ms', r.runTrueMs - r.trueMs, ' ms', under150),
      'node -e 0 (node starting, nothing run)',
      r.nodeBareMs - r.trueMs,
      ' ms',
      under150,
    ),
    // NODE_EXTRA_CA_CERTS makes node 20 parse CA files before any JavaScript runs (60-80 ms here):
    // the same target over `node -e 0` in the same environment shows what bulkhead adds to node.
    targetOn(
      'bulkhead run -- true minus node -e 0 (same environment), median ≤ 150 ms',
      r.runTrueMs - r.nodeBareMs,
      ' ms',
      (v) => v <= 150,
    ),
    withFloor(
      targetOn(
        'bulkhead run -- true as typed (the launcher through its shebang) minus true, median ≤ 150 ms',
        r.runTypedMs - r.trueMs,
        ' ms',
        under150,
      ),
      'node -e 0 as the launcher starts it (no NODE_EXTRA_CA_CERTS)',
      (r.withoutExtraCa?.nodeBareMs ?? r.nodeBareMs) - r.trueMs,
      ' ms',
      under150,
    ),
    // As CPU: a difference of two wall times swings past zero under load; the jail's wall time
    // is measured on its own by the sandbox bench (jailed `true` minus a bare spawn).
    targetOn(
      "the jail's share of it, CPU of the process tree (jailed minus --no-sandbox) ≤ 50 ms",
      r.cpu.runTrue - r.cpu.runUnjailed,
      ' ms CPU',
      (v) => v <= 50,
    ),
    targetOn('bulkhead kill typed → jailed tree gone, p50 ≤ 500 ms', r.killToGoneP50, ' ms', (v) => v <= 500),
    targetOn(
      'kill API answered → jailed process gone, p99 ≤ 100 ms',
      r.apiKill.goneP99,
      ' ms',
      (v) => v <= 100,
    ),
    // bulkhead's own bound: the command ends once the workdir is merged and the run completed.
    targetOn(
      'kill API answered → bulkhead run exited, p99 ≤ 250 ms',
      r.apiKill.exitedP99,
      ' ms',
      (v) => v <= 250,
    ),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--rounds');
  const a = process.argv.indexOf('--against');
  process.stdout.write(
    `${print(
      await run({
        ...(i > 0 ? { rounds: Number(process.argv[i + 1]) } : {}),
        ...(a > 0 ? { against: process.argv[a + 1] as string } : {}),
      }),
    )}\n`,
  );
}
