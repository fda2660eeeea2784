/**
 * Test harness: a real gateway on a loopback port with a policy written to a
 * temp folder, its log captured in a file, and real SDK clients as agents.
 */
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectAgentClient } from '../../src/agent/connect.js';
import { type Gateway, type GatewayOptions, startGateway } from '../../src/gateway/gateway.js';
import { loadPolicyFile } from '../../src/policy/load.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const SERVERS = join(ROOT, 'examples/support-desk/servers');
export const FILESYSTEM_SERVER = join(
  ROOT,
  'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js',
);
export const EVERYTHING_SERVER = join(
  ROOT,
  'node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);

export function tempDir(prefix = 'bulkhead-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** YAML for an `upstreams:` section with the reference "everything" server from npm as `everything`. */
export function everythingUpstream(): string {
  return [
    'upstreams:',
    '  everything:',
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(EVERYTHING_SERVER)}]`,
  ].join('\n');
}

/**
 * The smallest useful policy: the reference `everything` server as the one upstream, its
 * `echo` tool exposed to profile `agent`. `store`: the store line (none: the default).
 */
export function echoPolicy(store: string | undefined = '{ sqlite: ./bulkhead.db }'): string {
  return `
version: 1
${store === undefined ? '' : `store: ${store}\n`}${everythingUpstream()}
tools:
  everything:
    echo: { class: read }
profiles:
  agent:
    tools: [everything__echo]
`;
}

/** YAML for a stdio upstream running one of the example servers through tsx. */
export function exampleUpstream(server: 'orders' | 'mail', env: Record<string, string>): string {
  const lines = Object.entries(env).map(([k, v]) => `      ${k}: ${v}`);
  return [
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [--import, tsx, ${JSON.stringify(join(SERVERS, `${server}.ts`))}]`,
    `    cwd: ${JSON.stringify(ROOT)}`,
    '    env:',
    ...lines,
  ].join('\n');
}

export interface TestGateway {
  gateway: Gateway;
  dir: string;
  logFile: string;
  readLog(): string;
  /** Creates a run and connects an SDK client to it. */
  agent(profile: string): Promise<Agent>;
  close(): Promise<void>;
}

export interface Agent {
  client: Client;
  token: string;
  runId: string;
  close(): Promise<void>;
}

export async function startTestGateway(
  policyYaml: string,
  options: { env?: Record<string, string>; dir?: string; gateway?: Partial<GatewayOptions> } = {},
): Promise<TestGateway> {
  const dir = options.dir ?? tempDir();
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, policyYaml);
  const logFile = join(dir, 'gateway.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const home = join(dir, 'home');
  if (!existsSync(home)) mkdirSync(home);
  const gateway = await startGateway({
    loaded: loadPolicyFile(file),
    port: 0,
    home,
    env: { ...options.env },
    logDestination: log,
    ...options.gateway,
  });
  const agents: Agent[] = [];
  return {
    gateway,
    dir,
    logFile,
    readLog: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async agent(profile) {
      const { run, token } = await gateway.runs.create(profile);
      const client = await connectAgent(gateway.url, token);
      const agent = { client, token, runId: run.id, close: () => client.close() };
      agents.push(agent);
      return agent;
    },
    async close() {
      await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
      await gateway.close();
      await new Promise<void>((r) => log.end(r));
    },
  };
}

export function connectAgent(url: string, token: string): Promise<Client> {
  return connectAgentClient({ mcpUrl: `${url}/mcp`, token, name: 'test-agent' });
}

/** Lines an example server recorded (BULKHEAD_RECORD): what the upstream actually received. */
export function recorded(file: string): { server: string; tool: string; arguments: unknown }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { server: string; tool: string; arguments: unknown });
}

export function denialCode(result: unknown): string | undefined {
  const meta = (result as { _meta?: Record<string, { code?: string }> })._meta;
  return meta?.['bulkhead/denial']?.code;
}

export function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}

export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/** Opens an MCP session by hand (raw HTTP), for tests that must send what no SDK client would. */
export async function rawSession(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await response.text();
  return response.headers.get('mcp-session-id') ?? '';
}

/** Posts a raw body to /mcp; with a session id when given. */
export async function rawPost(
  url: string,
  token: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...headers },
    body,
  });
  return { status: response.status, body: await response.text() };
}

export function sessionHeaders(sessionId: string): Record<string, string> {
  return { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
}
