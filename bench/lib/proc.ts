/**
 * Child processes for benchmarks: every contender runs in its own process, so
 * the load generator never shares an event loop with the thing it measures.
 * A child announces itself with one JSON line on stdout.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(
  (p) => process.platform === 'linux' && existsSync(p),
);

export interface Child<T> {
  process: ChildProcess;
  ready: T;
  /** The tail of the child's stderr, for error messages. */
  stderr(): string;
  /** Asks the child to exit (SIGTERM), then forces it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  cwd: string;
  /** Flags for node itself (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/**
 * Starts `node [nodeArgs] script [args]` and returns at once. `.ts` scripts
 * get tsx; stdout is drained (a chatty child never blocks on a full pipe).
 */
export function spawnChild(script: string, args: readonly string[], options: ChildOptions): Child<undefined> {
  const tsx = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const argv = [process.execPath, ...(options.nodeArgs ?? []), ...tsx, script, ...args];
  // A bench killed before its cleanup (its output piped into `head`) must not leave a gateway
  // running to load every later bench: children die with it (setpriv execs, the pid is node's).
  const [command, ...rest] = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : argv;
  const child = spawn(command as string, rest, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    // Bounded: only the tail matters for an error message.
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { process: child, ready: undefined, stderr: () => stderr, stop };
}

/**
 * Starts a child like `spawnChild` and waits for its first stdout line that is
 * a JSON object or a number: its announcement (address, tokens). Fails after
 * `timeoutMs`, or when the child exits first, with the child's stderr.
 */
export async function startChild<T>(
  script: string,
  args: readonly string[],
  options: ChildOptions,
): Promise<Child<T>> {
  const started = spawnChild(script, args, options);
  const child = started.process;
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const timeoutMs = options.timeoutMs ?? 30_000;
  try {
    const ready = await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} not ready after ${timeoutMs} ms: ${started.stderr()}`)),
        timeoutMs,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited (${code}) before it was ready: ${started.stderr()}`));
      });
      // Children may log other lines first (mcp-proxy does). readline keeps
      // consuming stdout after the announcement, so later logs never block the child.
      let announced = false;
      lines.on('line', (line) => {
        if (announced || !(line.startsWith('{') || /^\d+$/.test(line))) return;
        try {
          const value = JSON.parse(line) as T;
          announced = true;
          clearTimeout(timer);
          resolve(value);
        } catch {
          // Not the announcement.
        }
      });
    });
    return { ...started, ready };
  } catch (error) {
    await started.stop(1_000);
    throw error;
  }
}

/** For a child script: exit cleanly on SIGTERM/SIGINT after running `cleanup` (bounded). */
export function onStop(cleanup: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    cleanup().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** A port free right now on 127.0.0.1, for children that cannot report the one they bound. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/** Polls until `url` answers any HTTP status (bounded by `timeoutMs`). */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      await fetch(url, { method: 'GET', signal: AbortSignal.timeout(2_000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Polls until something accepts TCP connections on 127.0.0.1:`port` (bounded by `timeoutMs`). */
export async function waitForTcp(port: number, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      }).once('error', () => resolve(false));
    });
    if (accepted) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}
