/**
 * What the build runs in the `bulkhead run` bundle before recording V8's code
 * cache for it (scripts/bundle-cli.mjs): V8 compiles a function only when it
 * is first called, and the cache holds only what was compiled, so without
 * this every `bulkhead run` compiled the YAML parser, the policy schema's
 * checks and commander's parsing again. Pure: it reads and writes nothing.
 */
import { jailOptionsOf } from '../sandbox/cli-support.js';
import { mcpClientConfig } from './mcp-config.js';
import { createProgram } from './program.js';
import { register } from './run.js';

/** A policy with the parts `bulkhead run` reads: a store, an upstream, tools, a sandboxed profile. */
const SAMPLE = `version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  files:
    command: node
    args: [server.js]
    env: { TOKEN: { secret: FILES_TOKEN } }
tools:
  files:
    read_file: { class: read }
profiles:
  coder:
    description: a sample
    tools: [files__read_file]
    budgets: { tool_calls: 10, wall_clock: 10m }
    egress: [api.example.com:443]
    sandbox: { memory: 1G, tmp_size: 64M, env: [LANG], weaker_limits: true }
`;

export async function warm(): Promise<void> {
  // Imported as `bulkhead run` imports it (on a cache miss): the bundle initialises it lazily.
  const { parsePolicy } = await import('./run-policy-parser.js');
  const policy = parsePolicy(SAMPLE);
  const profile = policy.profiles.coder;
  if (profile) jailOptionsOf(profile.sandbox);
  mcpClientConfig('http://127.0.0.1:1/mcp', 'token');
  const program = createProgram();
  register(program);
  program.helpInformation();
}
