/**
 * Shared by the sandbox suites: runs a shell script in a real jail (bubblewrap,
 * namespaces, cgroups, seccomp) and returns what it printed. The script's
 * output goes to a file in its workdir, so the jail's stdio is not involved.
 *
 * Under CI=true a host that cannot build the jail fails the suites with the
 * reason; elsewhere they are skipped, loudly.
 */
import { execSync, type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLimiter } from '../../src/sandbox/cgroup.js';
import {
  checkSandboxSupport,
  type EgressEvent,
  type JailExit,
  type JailHandle,
  type JailSpec,
  type LateJailSpec,
  prepareJail,
  startJail,
} from '../../src/sandbox/index.js';

export function sandboxProblem(): string | undefined {
  try {
    checkSandboxSupport();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Call at the top of a suite: fails under CI, skips loudly elsewhere. Returns whether to skip. */
export function skipWithoutSandbox(): boolean {
  const problem = sandboxProblem();
  if (!problem) return false;
  if (process.env.CI === 'true') {
    throw new Error(
      `CI=true and the sandbox cannot be built here, so these tests would be skipped: ${problem}`,
    );
  }
  console.warn(`\n!!! SANDBOX TESTS SKIPPED: ${problem}\n`);
  return true;
}

/**
 * Whether this process can make cgroups (root, or a delegated subtree). Without, limits fall back
 * to rlimits and the tests of cgroup enforcement cannot hold: under CI=true that fails the suite,
 * elsewhere those tests are skipped, loudly.
 */
export function skipWithoutCgroups(): boolean {
  const probe = createLimiter(`probe-${process.pid}`, { memoryBytes: 64 * 1024 * 1024, pids: 16, cpu: 1 });
  void probe.remove();
  if (probe.kind !== 'rlimit') return false;
  const problem =
    'cannot create cgroups here (run the sandbox tests as root, or in a delegated cgroup: systemd-run --user --scope -p Delegate=yes)';
  if (process.env.CI === 'true')
    throw new Error(`CI=true and the cgroup limit tests would be skipped: ${problem}`);
  console.warn(`\n!!! CGROUP LIMIT TESTS SKIPPED: ${problem}\n`);
  return true;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const RESOLVER = async (host: string): Promise<string[]> => {
  const answers: Record<string, string[]> = {
    'allowed.test': ['127.0.0.1'],
    'rebind.test': ['127.0.0.1'],
    'metadata.test': ['169.254.169.254'],
    'public.test': ['93.184.216.34'],
  };
  const answer = answers[host];
  if (!answer) throw new Error('NXDOMAIN');
  return answer;
};

export interface JailRun {
  runId: string;
  exit: JailExit;
  out: string;
  workdir: string;
  handle: JailHandle;
}

export interface JailRunOptions {
  /** Start it through a launcher prepared ahead (prepareJail), as `bulkhead run` does where it can. */
  prepared?: boolean;
  egress?: string[];
  memoryMb?: number;
  pids?: number;
  cpu?: number;
  tmpMb?: number;
  workdirMb?: number;
  timeoutMs?: number;
  gatewayUrl?: string;
  cgroupRoot?: string;
  bridge?: 'socat' | 'node';
  /** How the jail's ports reach the host: listeners made inside (root's default) or the in-jail bridges. */
  egressPort?: 'listener' | 'bridge';
  /** Accept rlimits where no cgroup can be made (the profile's sandbox.weaker_limits). */
  weakerLimits?: boolean;
  /** Host paths mounted read-only (the profile's sandbox.mounts). */
  mounts?: string[];
  carryOver?: string[];
  signal?: AbortSignal;
  env?: Record<string, string>;
  onEgress?: (event: EgressEvent) => void;
  prepare?: (workdir: string) => void;
  /** Use this folder as the workdir instead of a fresh temporary one. */
  workdirAt?: string;
  /** What only the run knows, handed over once staged (JailSpec.late). */
  late?: Promise<LateJailSpec>;
  /** Called once the jail runs, before it ends. */
  started?: (handle: JailHandle) => void | Promise<void>;
}

export function jailSpec(workdir: string, command: string[], options: JailRunOptions = {}): JailSpec {
  return {
    runId: `run_test${Math.random().toString(36).slice(2, 8)}`,
    workdir,
    command,
    env: options.env ?? {},
    limits: {
      memoryBytes: (options.memoryMb ?? 256) * 1024 * 1024,
      pids: options.pids ?? 64,
      cpu: options.cpu ?? 1,
      tmpBytes: (options.tmpMb ?? 16) * 1024 * 1024,
      ...(options.workdirMb ? { workdirBytes: options.workdirMb * 1024 * 1024 } : {}),
    },
    egress: options.egress ?? [],
    gatewayUrl: options.gatewayUrl ?? 'http://127.0.0.1:9',
    resolve: RESOLVER,
    stdio: 'ignore',
    ...(options.onEgress ? { onEgress: options.onEgress } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.cgroupRoot ? { cgroupRoot: options.cgroupRoot } : {}),
    ...(options.bridge ? { bridge: options.bridge } : {}),
    ...(options.egressPort ? { egressPort: options.egressPort } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.weakerLimits ? { acceptWeakerLimits: true } : {}),
    ...(options.mounts ? { readOnlyMounts: options.mounts } : {}),
    ...(options.carryOver ? { carryOver: options.carryOver } : {}),
    ...(options.late ? { late: options.late } : {}),
  };
}

/** The same spec with its launcher started ahead, as `bulkhead run` starts it (where there is one). */
export function preparedSpec(spec: JailSpec): JailSpec {
  const launcher = prepareJail(spec.stdio);
  return launcher ? { ...spec, launcher } : spec;
}

/** Runs `script` with sh inside a jail; its stdout and stderr land in `out`. */
export async function runInJail(script: string, options: JailRunOptions = {}): Promise<JailRun> {
  const workdir = options.workdirAt ?? tempDir('bulkhead-wd-');
  options.prepare?.(workdir);
  writeFileSync(join(workdir, 'script.sh'), script);
  const plain = jailSpec(workdir, ['/bin/sh', '-c', 'sh ./script.sh > ./out.txt 2>&1'], options);
  const spec = options.prepared ? preparedSpec(plain) : plain;
  const handle = await startJail(spec);
  await options.started?.(handle);
  const exit = await handle.exited;
  const out = existsSync(join(workdir, 'out.txt')) ? readFileSync(join(workdir, 'out.txt'), 'utf8') : '';
  return { runId: spec.runId, exit, out, workdir, handle };
}

/** The MiB a memory test's script printed as `held N` (its last count before refused). */
export function heldMb(out: string): number {
  const m = /^held (\d+)$/m.exec(out);
  if (!m) throw new Error(`no result: ${out}`);
  return Number(m[1]);
}

/** Host processes whose command line contains `marker` (the pattern never matches pgrep itself). */
export function hostProcesses(marker: string): string[] {
  const pattern = `[${marker.slice(0, 1)}]${marker.slice(1)}`;
  return execSync(`pgrep -f '${pattern}' || true`).toString().split('\n').filter(Boolean);
}

/** Polls until no host process carries the marker; returns how long that took (past `limitMs`: gave up). */
export async function goneWithin(marker: string, limitMs: number): Promise<number> {
  const started = Date.now();
  while (hostProcesses(marker).length > 0) {
    if (Date.now() - started > limitMs) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

/** A node one-liner that asks the jail's egress proxy for a target and prints the status. */
export function viaProxy(kind: 'connect' | 'http', target: string): string {
  const js =
    kind === 'connect'
      ? `const r=require('http').request({host:'127.0.0.1',port:7301,method:'CONNECT',path:'${target}'});r.on('connect',(res,s)=>{console.log('STATUS',res.statusCode);s.destroy()});r.on('error',e=>console.log('ERR',e.code));r.end()`
      : `require('http').get({host:'127.0.0.1',port:7301,path:'${target}'},res=>{let b='';res.on('data',d=>b+=d);res.on('end',()=>console.log('STATUS',res.statusCode,b))}).on('error',e=>console.log('ERR',e.code))`;
  return `node -e "${js}"\n`;
}

/** Runs a TypeScript file with node and tsx as `uid` (no groups, no account needed), from the repository's root. */
export function runAsUid(
  uid: number,
  file: string,
  env: Record<string, string | undefined>,
): SpawnSyncReturns<string> {
  return spawnSync(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '--import', 'tsx', file],
    {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 90_000,
    },
  );
}

/**
 * runInJail from a launcher running as `uid` (runAsUid): `files` are copied into the workdir first;
 * `options` must be plain data. Returns what the script printed, or the launcher's stderr if none.
 */
export function runInJailAsUid(
  uid: number,
  script: string,
  options: Pick<JailRunOptions, 'weakerLimits' | 'memoryMb' | 'pids' | 'tmpMb' | 'workdirMb'>,
  files: Record<string, string> = {},
): string {
  const dir = tempDir('bulkhead-as-uid-');
  chmodSync(dir, 0o755);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  const file = join(dir, 'launcher.mts');
  writeFileSync(
    file,
    `import { copyFileSync } from 'node:fs';\nimport { join } from 'node:path';\n` +
      `import { runInJail } from ${JSON.stringify(join(import.meta.dirname, 'jail-harness.ts'))};\n` +
      `const files = ${JSON.stringify(Object.keys(files))};\n` +
      `const { out } = await runInJail(${JSON.stringify(script)}, { ...${JSON.stringify(options)},\n` +
      `  prepare: (wd) => { for (const f of files) copyFileSync(join(${JSON.stringify(dir)}, f), join(wd, f)); } });\n` +
      'console.log(JSON.stringify(out));\n',
  );
  const launched = runAsUid(uid, file, { TMPDIR: '/tmp', HOME: '/tmp' });
  const out = JSON.parse(launched.stdout.trim().split('\n').pop() || '""') as string;
  return out || `no output: ${launched.stderr}`;
}
