/**
 * A real `bulkhead gateway` process, started as an operator would (the CLI,
 * its own pid, signals), on a loopback port the OS picks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/harness.js';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  token: string;
  home: string;
  stdout(): string;
  stderr(): string;
  /** Resolves once `text` appears in stdout or stderr after `from` characters. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function spawnGateway(
  policyFile: string,
  options: { dir: string; args?: string[]; env?: Record<string, string> },
): Promise<GatewayProcess> {
  const home = join(options.dir, 'home');
  mkdirSync(home, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/bulkhead.js'),
      'gateway',
      '--policy',
      policyFile,
      '--port',
      '0',
      ...(options.args ?? []),
    ],
    {
      cwd: options.dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        BULKHEAD_HOME: home,
        BULKHEAD_FROM_SOURCE: '1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const waitFor = async (text: string | RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    const seen = () => (typeof text === 'string' ? (out + err).includes(text) : text.test(out + err));
    while (!seen()) {
      if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}:\n${out}\n${err}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${text}:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitFor(/listening on https?:\/\/\S+/);
  const url = /listening on (https?:\/\/\S+)/.exec(out)?.[1] as string;
  const port = new URL(url).port;
  const token = readFileSync(join(home, `gateway-${port}.token`), 'utf8').trim();
  return {
    child,
    url,
    token,
    home,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    async api<T>(method: string, path: string, body?: unknown) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, body: (await response.json()) as T };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
