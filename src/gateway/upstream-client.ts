/**
 * Connects one MCP client to one upstream, with that upstream's own
 * credential. A stdio upstream gets only its declared environment plus the
 * SDK's short list of harmless variables (PATH, HOME, USER, SHELL, TERM,
 * LOGNAME) and LANG: never the gateway's environment, which holds the secrets
 * of every other upstream.
 */

import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ReadBuffer } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage, Tool } from '@modelcontextprotocol/sdk/types.js';
import { inspectionWorkers } from '../inspect/worker/pool.js';
import { isStdio, type UpstreamConfig } from '../policy/schema/index.js';
import { resolveRecord, type SecretSource } from '../policy/secrets.js';
import { type FetchLike, keepAliveFetch } from './http-fetch.js';
import { largeMessages, SentCalls } from './large-messages.js';
import { useLeanSse } from './lean-sse.js';
import { type Containment, withParentDeath } from './parent-death.js';
import { BoundedReadBuffer } from './stdio-reader.js';
import { installProgressRouter } from './upstream-progress.js';

export interface UpstreamConnection {
  client: Client;
  /** Process id of a stdio upstream. */
  pid: () => number | null;
  close(): Promise<void>;
}

/** The largest message read from an upstream unless its `max_message` says otherwise. */
export const DEFAULT_MAX_MESSAGE = 32 * 1024 * 1024;

export const CLIENT_INFO = { name: 'bulkhead', version: '0.1.0' } as const;

export async function connectUpstream(
  name: string,
  config: UpstreamConfig,
  source: SecretSource,
  options: {
    onClose?: () => void;
    onStderr?: (text: string) => void;
    /** Wraps the fetch for HTTP upstreams (tracing adds the W3C traceparent header), calling `base`. */
    fetch?: (url: string | URL, init?: RequestInit, base?: FetchLike) => Promise<Response>;
    /** Hands over the connection before it is up, so a caller's deadline can close it (and its child). */
    onSpawn?: (pending: UpstreamConnection) => void;
    /** A tool's `max_output`: large answers to it are read and cut in a worker (large-messages.ts). */
    outputLimit?: (tool: string) => number | undefined;
    /** Whether other calls are in flight on the gateway: an HTTP upstream's answers past their budget are then paced. */
    contended?: () => boolean;
    /** How a stdio upstream is tied to the gateway (parent-death.ts), told before it starts. */
    onContainment?: (how: Containment) => void;
    /** An inspection worker failed to parse a long answer, which was then parsed on the event loop. */
    onParseFallback?: (error: Error) => void;
  } = {},
): Promise<UpstreamConnection> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  let stderr: Readable | null;
  let pid: () => number | null = () => null;
  let closeHttp: () => void = () => undefined;
  // Under the containment fallback, what the upstream spawned outlives its pipes: swept after.
  let sweep: () => Promise<unknown> = async () => undefined;
  const close = async () => {
    await client.close();
    closeHttp();
    await sweep();
  };
  options.onSpawn?.({ client, pid: () => pid(), close });
  if (isStdio(config)) {
    const env = resolveRecord(config.env, source, `upstreams.${name}.env`);
    if (process.env.LANG && env.LANG === undefined) env.LANG = process.env.LANG;
    // Killed with the gateway, its whole process tree too, also by kill -9: never an orphan holding its credentials.
    const tied = await withParentDeath(config.command, config.args ?? [], env);
    options.onContainment?.(tied.containment);
    if (tied.sweep) sweep = tied.sweep;
    const transport = new StdioClientTransport({
      command: tied.command,
      args: tied.args,
      env: tied.env,
      cwd: config.cwd ? resolve(source.dir, config.cwd) : source.dir,
      stderr: 'pipe',
    });
    useBoundedReader(transport, config.max_message ?? DEFAULT_MAX_MESSAGE, options.outputLimit);
    stderr = transport.stderr as Readable | null;
    // Attached before connecting, so a server that dies at start-up still explains why.
    stderr?.on('data', (chunk: Buffer) => options.onStderr?.(chunk.toString('utf8').trimEnd()));
    client.onclose = options.onClose;
    await client.connect(transport);
    installProgressRouter(client, transport);
    pid = () => transport.pid;
  } else {
    const headers = resolveRecord(config.headers, source, `upstreams.${name}.headers`);
    // Keep-alive sockets and bounded reading (see http-fetch.ts) instead of the global fetch.
    const wrap = options.fetch;
    const http = keepAliveFetch({
      maxBodyBytes: config.max_message ?? DEFAULT_MAX_MESSAGE,
      ...(options.outputLimit ? { large: largeMessages(options.outputLimit, options.contended) } : {}),
    });
    closeHttp = http.close;
    const transport = new StreamableHTTPClientTransport(new URL(config.url), {
      requestInit: { headers },
      // Tracing wraps the keep-alive fetch (it adds a header), it does not replace it.
      fetch: wrap ? (url, init) => wrap(url, init, http.fetch) : http.fetch,
    });
    // Every answer is an SSE stream: read with one reader instead of two web transforms per call.
    // A long answer's JSON is parsed in an inspection worker (worker/pool.ts `holdJson`, `parseJson`).
    useLeanSse(transport, {
      parseLong: (text) => inspectionWorkers().parseJson(text, options.onParseFallback),
      holdLong: (bytes) => inspectionWorkers().holdJson(bytes, options.onParseFallback),
    });
    client.onclose = options.onClose;
    await client.connect(transport).catch((error: unknown) => {
      http.close();
      throw error;
    });
    installProgressRouter(client, transport);
  }
  return { client, pid, close };
}

/**
 * Swaps the SDK's stdio read buffer for a bounded, linear one (stdio-reader.ts).
 * The SDK offers no option for it; if its internals change, starting fails
 * loudly here rather than silently losing the bound.
 */
function useBoundedReader(
  transport: StdioClientTransport,
  limit: number,
  outputLimit: ((tool: string) => number | undefined) | undefined,
): void {
  const internals = transport as unknown as { _readBuffer?: unknown };
  if (!(internals._readBuffer instanceof ReadBuffer)) {
    throw new Error('the MCP SDK stdio transport changed: its read buffer cannot be bounded');
  }
  if (!outputLimit) {
    internals._readBuffer = new BoundedReadBuffer(limit);
    return;
  }
  // Stdio answers carry only an id: the tool each id called is remembered as calls are sent.
  const sent = new SentCalls();
  const send = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage) => {
    sent.note(message);
    return send(message);
  };
  internals._readBuffer = new BoundedReadBuffer(limit, {
    messages: largeMessages(outputLimit),
    toolOf: (id) => sent.take(id),
    deliver: (message) => transport.onmessage?.(message),
  });
}

/** Lists every tool, following pagination cursors. */
export async function listAllTools(client: Client, signal?: AbortSignal): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await client.listTools(cursor ? { cursor } : {}, { signal });
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return tools;
}
