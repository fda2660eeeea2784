/** YAML for a stdio upstream running test/fixtures/result-server.ts (see there for what each option does). */
import { join } from 'node:path';
import { ROOT, startTestGateway, type TestGateway, tempDir } from './harness.js';

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

/**
 * A gateway on a SQLite store of its own in front of one result upstream `name` answering with
 * `results`. `policy`: the policy's `tools:` and `profiles:` sections; by default every tool is
 * `read` and profile `agent` may call them all.
 */
export async function startResultGateway(
  name: string,
  results: Record<string, unknown>,
  opts: { policy?: string } = {},
): Promise<TestGateway> {
  const tools = Object.keys(results);
  const policy =
    opts.policy ??
    `tools:
  ${name}:
${tools.map((t) => `    ${t}: { class: read }`).join('\n')}
profiles:
  agent:
    tools: [${tools.map((t) => `${name}__${t}`).join(', ')}]`;
  return startTestGateway(
    `version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${resultUpstream(name, { tools: results })}
${policy}
`,
    { dir: tempDir() },
  );
}
