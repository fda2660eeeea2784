/**
 * Lists the tools of upstream MCP servers for the audit and for pinning (and
 * the prompts, resources and resource templates of those that offer them):
 * connect with the official SDK client, follow `nextCursor` to the last page,
 * close. A stdio server gets only its declared environment (plus LANG and the
 * SDK's harmless defaults such as PATH and HOME), never ours: the audit may
 * run where other upstreams' secrets are set, and a server under audit is by
 * definition not yet trusted.
 *
 * Failures are values: one upstream that does not start yields a result with
 * `error` and the others are still listed.
 */
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { isStdio, type UpstreamConfig } from '../policy/schema/index.js';
import { resolveRecord, type SecretSource } from '../policy/secrets.js';
import type { Offered } from './pin-items.js';

export interface Listed {
  upstream: string;
  tools: Tool[];
  /** Its prompts, resources and templates (absent when it could not be listed). */
  offered?: Offered;
  /** Why this upstream could not be listed (scrubbed); absent when it was. */
  error?: string;
}

export interface ListOptions {
  /** One line per upstream as it finishes, e.g. `[2/5] orders: 7 tools`. */
  progress?: (line: string) => void;
  /** Applied to every error text shown: a failing server may print its own credential. */
  scrub?: (text: string) => string;
  /** Per upstream, for connecting and listing together. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Upstreams listed at once: many stdio servers starting together can starve a small machine. */
  concurrency?: number;
  /**
   * Which upstreams to ask for prompts, resources and templates too (none by default): those the
   * policy shows some profile. Their failure then fails the listing; other upstreams are not asked,
   * so a server whose resources need a backend that is down still has its tools audited.
   */
  offered?: (upstream: string) => boolean;
}

const CLIENT_INFO = { name: 'bulkhead-audit', version: '0.1.0' } as const;
/** A server that pages forever must not hang the audit. */
const MAX_PAGES = 100;

/** An upstream config for `--upstream CMD ARGS...` (no policy): no env at all. */
export function adHocStdio(command: string, args: string[], dir: string): UpstreamConfig {
  return { command, args, env: {}, cwd: dir, call_timeout: 30_000 };
}

/** An upstream config for `--url URL` (no policy). */
export function adHocHttp(url: string): UpstreamConfig {
  return { url, headers: {}, call_timeout: 30_000 };
}

/** Connects to one upstream, lists all its tools, closes. Throws on failure. */
export async function listUpstreamTools(
  name: string,
  config: UpstreamConfig,
  source: SecretSource,
  options: { signal?: AbortSignal; onStderr?: (text: string) => void } = {},
): Promise<Tool[]> {
  return (await listUpstream(name, config, source, options)).tools;
}

/**
 * Connects to one upstream, lists its tools and whatever else it offers (prompts, resources,
 * templates: only those its capabilities announce), closes. Throws on failure: a pin taken from a
 * partial listing would withhold what was left out.
 */
export async function listUpstream(
  name: string,
  config: UpstreamConfig,
  source: SecretSource,
  options: { signal?: AbortSignal; onStderr?: (text: string) => void; offered?: boolean } = {},
): Promise<{ tools: Tool[]; offered: Offered }> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  // Closed on every path, also when connecting fails or times out: no orphaned server process.
  try {
    await connect(client, name, config, source, options);
    const signal = options.signal;
    const tools = await pages(
      (cursor) => client.listTools(cursor, { signal }),
      (r) => r.tools,
    );
    const can = options.offered ? (client.getServerCapabilities() ?? {}) : {};
    const offered: Offered = {
      prompts: can.prompts
        ? await pages(
            (c) => client.listPrompts(c, { signal }),
            (r) => r.prompts,
          )
        : [],
      resources: can.resources
        ? await pages(
            (c) => client.listResources(c, { signal }),
            (r) => r.resources,
          )
        : [],
      resourceTemplates: can.resources
        ? await pages(
            (c) => client.listResourceTemplates(c, { signal }),
            (r) => r.resourceTemplates,
          )
        : [],
    };
    return { tools, offered };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Follows `nextCursor` to the last page (at most MAX_PAGES). */
async function pages<R extends { nextCursor?: string | undefined }, T>(
  list: (params: { cursor?: string }) => Promise<R>,
  items: (result: R) => T[],
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await list(cursor ? { cursor } : {});
    out.push(...items(result));
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return out;
}

async function connect(
  client: Client,
  name: string,
  config: UpstreamConfig,
  source: SecretSource,
  options: { signal?: AbortSignal; onStderr?: (text: string) => void },
): Promise<void> {
  if (isStdio(config)) {
    const env = resolveRecord(config.env, source, `upstreams.${name}.env`);
    if (process.env.LANG && env.LANG === undefined) env.LANG = process.env.LANG;
    const transport = new StdioClientTransport({
      command: config.command,
      args: config.args,
      env,
      cwd: config.cwd ? resolve(source.dir, config.cwd) : source.dir,
      stderr: 'pipe',
    });
    // Attached before connecting, so a server that dies at start-up still says why.
    (transport.stderr as Readable | null)?.on('data', (chunk: Buffer) =>
      options.onStderr?.(chunk.toString('utf8').trimEnd()),
    );
    await client.connect(transport, { signal: options.signal });
  } else {
    const headers = resolveRecord(config.headers, source, `upstreams.${name}.headers`);
    const transport = new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers } });
    await client.connect(transport, { signal: options.signal });
  }
}

/** Lists every upstream, reporting progress; never throws for one upstream's failure. */
export async function listAll(
  upstreams: Record<string, UpstreamConfig>,
  source: SecretSource,
  options: ListOptions = {},
): Promise<Listed[]> {
  const names = Object.keys(upstreams);
  const scrub = options.scrub ?? ((text: string) => text);
  const results: Listed[] = new Array(names.length);
  let next = 0;
  let done = 0;
  const one = async (name: string): Promise<Listed> => {
    let stderr = '';
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 30_000)];
    if (options.signal) signals.push(options.signal);
    try {
      const { tools, offered } = await listUpstream(name, upstreams[name] as UpstreamConfig, source, {
        signal: AbortSignal.any(signals),
        offered: options.offered?.(name) ?? false,
        onStderr: (text) => {
          stderr = `${stderr}\n${text}`.slice(-2000);
        },
      });
      const more = offered.prompts.length + offered.resources.length + offered.resourceTemplates.length;
      options.progress?.(
        `[${++done}/${names.length}] ${name}: ${tools.length} tools${more ? `, ${more} prompts and resources` : ''}`,
      );
      return { upstream: name, tools, offered };
    } catch (error) {
      // The server's last words usually say why it did not start.
      const last = stderr.trim().split('\n').slice(-3).join(' | ');
      const why = scrub(
        `${error instanceof Error ? error.message : String(error)}${last ? `: ${last}` : ''}`,
      );
      options.progress?.(`[${++done}/${names.length}] ${name}: failed (${why})`);
      return { upstream: name, tools: [], error: why };
    }
  };
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      results[i] = await one(names[i] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, names.length) }, worker));
  return results;
}
