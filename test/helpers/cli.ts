/** Runs the real `bulkhead` executable as a user would, capturing its output and exit code. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ROOT, startTestGateway, type TestGateway } from './harness.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /** Start the launcher as a person's shell does, through its shebang, not `node bin/bulkhead.js`. */
  asTyped?: boolean;
}

export function bulkhead(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const bin = join(ROOT, 'bin/bulkhead.js');
  const [command, argv] = options.asTyped ? [bin, args] : [process.execPath, [bin, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: options.cwd ?? ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        BULKHEAD_FROM_SOURCE: '1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `bulkhead run` on the gateway's policy file and its `agent` profile: `options`, then `-- command`. */
export function agentRun(
  cli: Pick<CliGateway, 'policyFile'>,
  options: string[],
  command: string[],
): string[] {
  return ['run', '--policy', cli.policyFile, '--profile', 'agent', ...options, '--', ...command];
}

/** What `bulkhead` commands need to reach a test gateway: its home and its URL. */
export function cliEnv(gw: TestGateway): Record<string, string> {
  return { BULKHEAD_HOME: join(gw.dir, 'home'), BULKHEAD_GATEWAY: gw.gateway.url };
}

export interface CliGateway {
  gw: TestGateway;
  /** See `cliEnv`. */
  env: Record<string, string>;
  /** The policy file the gateway was started on. */
  policyFile: string;
}

/**
 * A test gateway on `policy`, started before the file's tests and closed after them, with what
 * the CLI needs to reach it. The fields are filled in when the file's tests start.
 */
export function useCliGateway(policy: string, options: { dir?: string } = {}): CliGateway {
  const cli = {} as CliGateway;
  beforeAll(async () => {
    cli.gw = await startTestGateway(policy, options);
    cli.policyFile = join(cli.gw.dir, 'policy.yaml');
    cli.env = cliEnv(cli.gw);
  });
  afterAll(async () => {
    await cli.gw?.close();
  });
  return cli;
}
