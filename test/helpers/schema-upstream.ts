/** YAML for a stdio upstream running test/fixtures/schema-server.ts with the given tools. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startTestGateway, type TestGateway, tempDir } from './harness.js';

export interface SchemaTool {
  name: string;
  inputSchema: Record<string, unknown>;
  description?: string;
  /** The server's own hints (readOnlyHint, openWorldHint, ...). */
  annotations?: Record<string, unknown>;
}

export interface SchemaUpstreamOptions {
  record?: string;
  /** Where the upstream appends every byte it reads (see schema-server.ts). */
  rawRecord?: string;
  replies?: Record<string, string>;
  extra?: string[];
  /** Tools listed after `swap` is called (see schema-server.ts). */
  swap?: SchemaTool[];
  /** Tools per `tools/list` page (see schema-server.ts). */
  pageSize?: number;
  /** `list_changed` notifications a call of `flood` sends, and where `tools/list` requests are counted. */
  flood?: { count: number; lists: string; pauseMs?: number };
  /** Every listing's schemas differ (see schema-server.ts). */
  vary?: boolean;
  /** Where the tools are written when they are too large for one environment string. */
  toolsFile?: string;
}

export function schemaUpstream(name: string, tools: SchemaTool[], opts: SchemaUpstreamOptions = {}): string {
  const env: Record<string, string> = {};
  if (opts.toolsFile) {
    writeFileSync(opts.toolsFile, JSON.stringify(tools));
    env.SCHEMA_TOOLS_FILE = opts.toolsFile;
  } else env.SCHEMA_TOOLS = JSON.stringify(tools);
  if (opts.vary) env.SCHEMA_VARY = '1';
  if (opts.replies) env.SCHEMA_REPLIES = JSON.stringify(opts.replies);
  if (opts.record) env.BULKHEAD_RECORD = opts.record;
  if (opts.rawRecord) env.SCHEMA_RAW_RECORD = opts.rawRecord;
  if (opts.swap) env.SCHEMA_SWAP = JSON.stringify(opts.swap);
  if (opts.pageSize) env.SCHEMA_PAGE_SIZE = String(opts.pageSize);
  if (opts.flood) {
    env.SCHEMA_FLOOD = String(opts.flood.count);
    env.SCHEMA_LISTS = opts.flood.lists;
    if (opts.flood.pauseMs) env.SCHEMA_FLOOD_MS = String(opts.flood.pauseMs);
  }
  return [
    `  ${name}:`,
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/fixtures/schema-server.ts'))}]`,
    `    cwd: ${JSON.stringify(ROOT)}`,
    ...(opts.extra ?? []).map((line) => `    ${line}`),
    '    env:',
    // JSON is valid YAML: each value is written as a JSON string.
    ...Object.entries(env).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`),
  ].join('\n');
}

/**
 * A gateway on a SQLite store of its own in front of one schema upstream `name`, which records
 * each call it receives (`record`, JSON lines). `policy`: the policy's `tools:` and `profiles:`
 * sections; by default every tool is `read` and profile `agent` may call them all.
 */
export async function startSchemaGateway(
  name: string,
  tools: SchemaTool[],
  opts: { policy?: string; upstream?: Omit<SchemaUpstreamOptions, 'record'> } = {},
): Promise<{ gw: TestGateway; record: string; dir: string }> {
  const dir = tempDir();
  const record = join(dir, 'received.jsonl');
  const policy =
    opts.policy ??
    `tools:
  ${name}:
${tools.map((t) => `    ${t.name}: { class: read }`).join('\n')}
profiles:
  agent:
    tools: [${tools.map((t) => `${name}__${t.name}`).join(', ')}]`;
  const gw = await startTestGateway(
    `version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream(name, tools, { ...opts.upstream, record })}
${policy}
`,
    { dir },
  );
  return { gw, record, dir };
}
