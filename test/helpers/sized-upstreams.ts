/**
 * The sized test server (test/fixtures/sized-server.ts, answers of any size)
 * as two upstreams of one gateway, `stdio` and `http`, for the tests of large
 * results. Starts the HTTP one before the file's tests and stops it after.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll } from 'vitest';
import { ROOT } from './harness.js';

export const SIZED = join(ROOT, 'test/fixtures/sized-server.ts');

/**
 * Call at the top of a test file: registers the HTTP server's stop after the file's tests, and
 * returns `upstreams(httpExtra)`, the `upstreams:` entries of both once the HTTP server listens
 * (`httpExtra`: more lines for the HTTP one, indented as its keys).
 */
export function useSizedUpstreams(): { upstreams: (httpExtra?: string) => Promise<string> } {
  let http: ChildProcess | undefined;
  afterAll(() => {
    http?.kill();
  });
  return {
    async upstreams(httpExtra = '') {
      const child = spawn(process.execPath, ['--import', 'tsx', SIZED, '--http'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      http = child;
      const port = await new Promise<string>((resolve) => {
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
      });
      return `  stdio:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(SIZED)}]
    cwd: ${JSON.stringify(ROOT)}
  http:
    url: http://127.0.0.1:${port}/mcp
${httpExtra}`;
    },
  };
}
