/** YAML for a stdio upstream running test/fixtures/result-server.ts (see there for what each option does). */
import { join } from 'node:path';
import { ROOT } from './harness.js';

export function resultUpstream(
  name: string,
  opts: {
    /** Tool name → the result it answers with (RESULT_TOOLS). */
    tools?: Record<string, unknown>;
    /** Tool name → characters of text put first in its answer (RESULT_PAD). */
    pad?: Record<string, number>;
    /** `serverInfo` and `instructions` of its initialize answer (RESULT_SERVER). */
    server?: { info?: { name: string; version: string; title?: string }; instructions?: string };
    /** Text of the resource page://one, sent as progress first (RESULT_PAGE). */
    page?: string;
    /** More lines of the upstream's entry (`sources: private`). */
    extra?: string[];
  },
): string {
  const env: Record<string, string> = {};
  if (opts.tools) env.RESULT_TOOLS = JSON.stringify(opts.tools);
  if (opts.pad) env.RESULT_PAD = JSON.stringify(opts.pad);
  if (opts.server) env.RESULT_SERVER = JSON.stringify(opts.server);
  if (opts.page) env.RESULT_PAGE = opts.page;
  return [
    `  ${name}:`,
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/fixtures/result-server.ts'))}]`,
    `    cwd: ${JSON.stringify(ROOT)}`,
    ...(opts.extra ?? []).map((line) => `    ${line}`),
    '    env:',
    // JSON is valid YAML: each value is written as a JSON string.
    ...Object.entries(env).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`),
  ].join('\n');
}
