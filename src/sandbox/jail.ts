/**
 * Starts an agent command in a jail: bubblewrap namespaces, cgroup limits,
 * and two bridges as its only ways out (the gateway and the egress proxy,
 * both through Unix sockets bind-mounted in). Fails closed: when the jail
 * cannot be built, it throws `sandbox_unavailable` naming what is missing;
 * it never runs the command unjailed.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BulkheadError } from '../errors.js';
import { bwrapArgv, JAIL_RUNTIME, JAIL_UID, PROTECTED_FILES } from './bwrap-argv.js';
import { type Cgroup, type CgroupLimits, createCgroup } from './cgroup.js';
import { createEgressProxy, type EgressEvent, type Resolver } from './egress-proxy.js';

/** Inside the jail: where the agent finds the gateway and the egress proxy. */
export const JAIL_GATEWAY_PORT = 7300;
export const JAIL_PROXY_PORT = 7301;

export interface JailOptions {
  runId: string;
  workdir: string;
  command: string[];
  /** Variables the agent gets, besides PATH, HOME, LANG and the proxy settings. */
  env: Record<string, string>;
  limits: CgroupLimits & { tmpBytes: number };
  egress: readonly string[];
  /** The gateway as the host reaches it, e.g. http://127.0.0.1:7300. */
  gatewayUrl: string;
  onEgress?: (event: EgressEvent) => void;
  resolve?: Resolver;
  /** Wall clock: the whole tree is killed when it passes. */
  timeoutMs?: number;
}

export interface JailExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it ended: it exited, it was killed (with the reason), it ran out of time or memory. */
  reason: string;
  peakMemoryBytes: number | null;
  survivors: number;
}

export interface JailHandle {
  pid: number;
  limits: Record<string, string>;
  exited: Promise<JailExit>;
  kill(reason: string): Promise<void>;
}

const BRIDGE = resolve(dirname(fileURLToPath(import.meta.url)), 'bridge.mjs');

let probed: string | undefined;
/** Checks once that bubblewrap exists and namespaces are allowed here; throws what is missing. */
export function checkSandboxSupport(): void {
  if (probed === 'ok') return;
  const version = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    throw new BulkheadError(
      'sandbox_unavailable',
      'bubblewrap (bwrap) is not installed: apt-get install bubblewrap',
    );
  }
  const probe = spawnSync(
    'bwrap',
    [
      '--unshare-all',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/bin',
      '/bin',
      '--symlink',
      'usr/lib',
      '/lib',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '/usr/bin/true',
    ],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    throw new BulkheadError(
      'sandbox_unavailable',
      `bubblewrap cannot create namespaces here: ${(probe.stderr || 'unknown error').trim()}`,
    );
  }
  probed = 'ok';
}

export async function startJail(options: JailOptions): Promise<JailHandle> {
  checkSandboxSupport();
  const workdir = resolve(options.workdir);
  if (!existsSync(workdir) || !statSync(workdir).isDirectory()) {
    throw new BulkheadError('bad_request', `the workdir ${workdir} is not a folder`);
  }
  const runtime = mkdtempSync(join(tmpdir(), 'bulkhead-jail-'));
  const empty = join(runtime, 'empty');
  mkdirSync(join(empty, 'dir'), { recursive: true });
  writeFileSync(join(empty, 'file'), '');
  const sockets = join(runtime, 'sockets');
  mkdirSync(sockets);
  writeFileSync(
    join(sockets, 'passwd'),
    `agent:x:${JAIL_UID}:${JAIL_UID}:agent:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
  );
  writeFileSync(join(sockets, 'group'), `agent:x:${JAIL_UID}:\nnogroup:x:65534:\n`);

  const servers: Server[] = [];
  const gateway = new URL(options.gatewayUrl);
  servers.push(
    await listenUnix(join(sockets, 'gateway.sock'), (client) => {
      const upstream = connect(Number(gateway.port || 80), gateway.hostname);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    }),
  );
  const proxy = createEgressProxy({
    egress: options.egress,
    onEvent: options.onEgress ?? (() => undefined),
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  await new Promise<void>((ok, fail) =>
    proxy.once('error', fail).listen(join(sockets, 'egress.sock'), () => ok()),
  );
  servers.push(proxy);

  let cgroup: Cgroup;
  try {
    cgroup = createCgroup(`${options.runId}-${process.pid}`, options.limits);
  } catch (error) {
    for (const s of servers) s.close();
    rmSync(runtime, { recursive: true, force: true });
    throw error;
  }
  const proxyUrl = `http://127.0.0.1:${JAIL_PROXY_PORT}`;
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    NO_PROXY: '127.0.0.1,localhost',
    ...options.env,
  };
  // Placeholders bwrap creates on the host for protected files that did not exist; removed after.
  const placeholders = [...PROTECTED_FILES, '.git'].filter((p) => !existsSync(join(workdir, p)));
  const argv = bwrapArgv({
    workdir,
    env,
    command: options.command,
    tmpSizeBytes: options.limits.tmpBytes,
    runtimeDir: sockets,
    bridgeScript: BRIDGE,
    bridges: [
      { port: JAIL_GATEWAY_PORT, socket: `${JAIL_RUNTIME}/gateway.sock` },
      { port: JAIL_PROXY_PORT, socket: `${JAIL_RUNTIME}/egress.sock` },
    ],
    emptyFile: join(empty, 'file'),
    emptyDir: join(empty, 'dir'),
    existing: (relative) => {
      const path = join(workdir, relative);
      if (!existsSync(path)) return undefined;
      return statSync(path).isDirectory() ? 'dir' : 'file';
    },
  });
  // The shell puts itself in the cgroup before exec'ing bwrap, so every process of the jail is counted.
  const child = spawn(
    '/bin/sh',
    ['-c', 'for f in $BULKHEAD_CGROUP_PROCS; do echo $$ > "$f"; done; exec bwrap "$@"', 'sh', ...argv],
    {
      stdio: 'inherit',
      env: { PATH: '/usr/bin:/bin', BULKHEAD_CGROUP_PROCS: cgroup.procsFiles.join(' ') },
    },
  );
  let endReason: string | undefined;
  const kill = async (reason: string) => {
    endReason ??= reason;
    await cgroup.killAll();
  };
  const timer = options.timeoutMs ? setTimeout(() => void kill('timeout'), options.timeoutMs) : undefined;
  const exited = new Promise<JailExit>((resolveExit) => {
    child.once('exit', async (code, signal) => {
      if (timer) clearTimeout(timer);
      // Nothing outlives the agent: whatever it left behind dies with the cgroup.
      const survivors = cgroup.pids().length;
      await cgroup.killAll();
      const peak = cgroup.peakMemoryBytes();
      const oom = cgroup.oomKilled();
      await cgroup.remove();
      for (const s of servers) s.close();
      rmSync(runtime, { recursive: true, force: true });
      for (const p of placeholders) removeIfEmpty(join(workdir, p));
      resolveExit({
        exitCode: code,
        signal,
        reason: endReason ?? (oom ? 'out of memory' : 'exited'),
        peakMemoryBytes: peak,
        survivors,
      });
    });
  });
  return {
    pid: child.pid ?? -1,
    limits: {
      memory: `${Math.round(options.limits.memoryBytes / 1024 / 1024)} MiB (${cgroup.mechanisms.memory})`,
      pids: `${options.limits.pids} (${cgroup.mechanisms.pids})`,
      cpu: `${options.limits.cpu} core(s) (${cgroup.mechanisms.cpu})`,
      tmp: `${Math.round(options.limits.tmpBytes / 1024 / 1024)} MiB (tmpfs size)`,
      network: `loopback only; egress via proxy to ${options.egress.length ? options.egress.join(', ') : 'nothing'}`,
      workdir: 'the only writable host folder (no quota: use a filesystem quota or a sized volume)',
    },
    exited,
    kill,
  };
}

function listenUnix(
  path: string,
  onConnection: (socket: import('node:net').Socket) => void,
): Promise<Server> {
  return new Promise((ok, fail) => {
    const server = createServer(onConnection);
    server.once('error', fail);
    server.listen(path, () => ok(server));
  });
}

function removeIfEmpty(path: string): void {
  try {
    const stat = statSync(path);
    if (stat.isDirectory() && readdirSync(path).length === 0) rmdirSync(path);
    else if (stat.isFile() && stat.size === 0) unlinkSync(path);
  } catch {
    // Gone already.
  }
}
