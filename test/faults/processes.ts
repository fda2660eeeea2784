/**
 * Real gateway processes for fault tests: `bulkhead gateway` spawned from
 * source, so a test can kill -9 it, stop it (SIGSTOP) or start a second
 * replica, exactly as an operator would meet those faults.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import {
  connectAgent,
  exampleUpstream,
  ROOT,
  startTestGateway,
  type TestGateway,
} from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  adminToken: string;
  output(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string>;
}

const spawned: ChildProcess[] = [];

/**
 * Kills every gateway process a test file started (afterAll, or afterEach where a live
 * leftover would act on the next test's state), resolving once they are gone.
 */
export async function killAll(): Promise<void> {
  const live = spawned.filter((child) => child.exitCode === null && child.signalCode === null);
  const gone = live.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of live) child.kill('SIGKILL');
  await Promise.all(gone);
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A port the OS picked as free, for a gateway that must come back on the same URL. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function spawnGateway(
  dir: string,
  policyYaml: string,
  env: Record<string, string>,
  name = 'policy.yaml',
  options: {
    user?: { uid: string; gid: string };
    /** A command line the gateway runs under (a jail such as bwrap); `gatewayPid` finds it inside. */
    wrap?: string[];
    /** A port of its own (a restart on the same URL); else the OS picks one. */
    port?: number;
    /** The gateway's log level (default warn); info shows sessions reopened after a restart. */
    logLevel?: string;
  } = {},
): {
  child: ChildProcess;
  ready: Promise<GatewayProcess>;
  exited: Promise<number | string>;
  output(): string;
} {
  const file = join(dir, name);
  writeFileSync(file, policyYaml);
  const home = join(dir, `home-${name}`);
  const argv = [
    join(ROOT, 'bin/bulkhead.js'),
    'gateway',
    '--policy',
    file,
    '--port',
    String(options.port ?? 0),
  ];
  // As another user: setpriv execs (the wrapper, or node: then the child's pid is the gateway's).
  const asUser = options.user
    ? ['setpriv', '--reuid', options.user.uid, '--regid', options.user.gid, '--clear-groups', '--']
    : [];
  const [command, ...args] = [...asUser, ...(options.wrap ?? []), process.execPath, ...argv];
  const child = spawn(command as string, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...(options.user ? { HOME: dir } : {}),
      ...env,
      BULKHEAD_HOME: home,
      BULKHEAD_FROM_SOURCE: '1',
      BULKHEAD_LOG_LEVEL: options.logLevel ?? 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const output = () => out;
  const ready = (async () => {
    const url = await Promise.race([
      waitFor(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], 60_000, 'gateway listening'),
      exited.then((code) => {
        throw new Error(`gateway exited (${code}) before listening:\n${out}`);
      }),
    ]);
    const tokenFile = join(home, `gateway-${new URL(url).port}.token`);
    await waitFor(() => existsSync(tokenFile), 5_000, 'token file');
    return { child, url, adminToken: readFileSync(tokenFile, 'utf8').trim(), output, exited };
  })();
  return { child, ready, exited, output };
}

/** The orders example server as a stdio upstream, with its test tools and a record of what it received. */
export function ordersUpstream(dir: string): string {
  return exampleUpstream('orders', {
    ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }',
    ORDERS_DB: JSON.stringify(join(dir, 'orders.db')),
    BULKHEAD_RECORD: JSON.stringify(join(dir, 'received.jsonl')),
    ORDERS_TEST_TOOLS: "'1'",
  });
}

/** A single-gateway SQLite policy over the orders upstream: `tools` read-only, `profiles` as YAML. */
export function ordersSqlitePolicy(dir: string, tools: readonly string[], profiles: string): string {
  return ordersPolicy(dir, '{ sqlite: ./bulkhead.db }', tools, `profiles:\n${profiles}`);
}

/** The orders upstream on `store` with `tools` of it listed as reads, then `sections` (profiles last). */
export function ordersPolicy(dir: string, store: string, tools: readonly string[], sections: string): string {
  const listed = tools.map((tool) => `    ${tool}: { class: read }`).join('\n');
  return `
version: 1
store: ${store}
upstreams:
  orders:
${ordersUpstream(dir)}
tools:
  orders:
${listed}
${sections}`;
}

export const ORDERS_ENV = {
  ORDERS_API_TOKEN: 'orders-token-fault-tests',
  ALICE: 'bho_alice-fault-token-0001',
};

export async function api<T>(
  url: string,
  token: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as T };
}

export async function createRun(
  url: string,
  adminToken: string,
  profile: string,
): Promise<{ run_id: string; token: string }> {
  const { body } = await api<{ run_id: string; token: string }>(url, adminToken, '/api/runs', {
    method: 'POST',
    body: { profile },
  });
  return body;
}

/**
 * A streamed LLM request (`claude-test`, max_tokens 100 unless given) through the gateway at `url`, resolved
 * once its first event arrived: its token reservation is made before the request is forwarded,
 * so from then on a kill leaves that reservation open. `finished` is the answer, or 'cut'.
 */
export async function llmStreamInFlight(
  url: string,
  token: string,
  maxTokens = 100,
): Promise<{ finished: Promise<Anthropic.Message | 'cut'> }> {
  const client = new Anthropic({ apiKey: token, baseURL: url, maxRetries: 0 });
  const stream = client.messages.stream({
    model: 'claude-test',
    max_tokens: maxTokens,
    messages: [{ role: 'user', content: 'hi' }],
  });
  const finished = stream.finalMessage().catch(() => 'cut' as const);
  await new Promise<void>((resolve) => stream.on('streamEvent', () => resolve()));
  return { finished };
}

/**
 * The gateway's own pid when it runs under a wrapper (`spawnGateway`'s `wrap`): the
 * first node process below `child`. A kill -9 must hit the gateway itself.
 */
export function gatewayPid(child: ChildProcess): number {
  const queue = [child.pid as number];
  while (queue.length) {
    const pid = queue.shift() as number;
    const comm = (() => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    })();
    // The first node process: wrappers (bwrap, setpriv) either exec it or fork it.
    if (comm === basename(process.execPath).slice(0, 15)) return pid;
    try {
      for (const task of readdirSync(`/proc/${pid}/task`))
        queue.push(
          ...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
            .split(' ')
            .filter(Boolean)
            .map(Number),
        );
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error(`no gateway process below pid ${child.pid}`);
}

/** The first pending approval alice sees at `url` (of run `runId` if given), once there is one. */
export function pendingApproval(url: string, runId?: string): Promise<{ id: string; run_hash: string }> {
  return waitFor(
    async () => {
      const { body } = await api<{ approvals: { id: string; run_id: string; run_hash: string }[] }>(
        url,
        ORDERS_ENV.ALICE,
        '/api/approvals?state=pending',
      );
      return body.approvals.find((a) => runId === undefined || a.run_id === runId);
    },
    30_000,
    'a pending approval',
  );
}

/** A held `slow_echo` of `text`, approved by alice; resolves with the approval's id and the cut call. */
export async function approvedCall(g: GatewayProcess, text: string, ms: number) {
  const { token } = await createRun(g.url, g.adminToken, 'agent');
  const agent = await connectAgent(g.url, token);
  const call = agent
    .callTool({ name: 'orders__slow_echo', arguments: { ms, text } }, undefined, { timeout: 300_000 })
    .catch(() => 'cut');
  const pending = await pendingApproval(g.url);
  await api(g.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
    method: 'POST',
    body: { args_hash: pending.run_hash },
  }).catch(() => 'cut');
  /** Once the gateway is gone: the agent's connection and its call are over. */
  const ended = async () => {
    await agent.close().catch(() => undefined);
    await call;
  };
  return { id: pending.id, ended };
}

export async function approvalState(g: GatewayProcess, id: string): Promise<string> {
  const { body } = await api<{ approval: { state: string } }>(
    g.url,
    ORDERS_ENV.ALICE,
    `/api/approvals/${id}`,
  );
  return body.approval.state;
}

/** A policy's `llm:` section: the LLM API at `url`, its key from ANTHROPIC_API_KEY, model claude-test priced. */
export function llmSection(url: string): string {
  return `llm:
  base_url: ${url}
  api_key: { secret: ANTHROPIC_API_KEY }
  prices:
    claude-test: { input: 3, output: 15 }
`;
}

/**
 * A policy for crash tests: the orders upstream with `slow_echo` held for alice when its text
 * starts with "refund", profile `agent`; with `llm`, an LLM API at that URL (model claude-test
 * priced) and a 5-minute call timeout.
 */
export function refundPolicy(dir: string, store: string, llmUrl?: string): string {
  const llm = llmUrl === undefined ? '' : `    call_timeout: 5m\n${llmSection(llmUrl)}`;
  return `
version: 1
store: ${store}
upstreams:
  orders:
${ordersUpstream(dir)}
${llm}tools:
  orders:
    slow_echo:
      class: irreversible
      approval: { when: [{ arg: text, matches: '^refund' }], approvers: [approver] }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
profiles:
  agent:
    tools: [orders__slow_echo]
`;
}

/**
 * SQLite and, where a server can start, PostgreSQL, each as a policy's `store:` value, for a
 * test file that proves a fault on both. The server starts on first use; `stop` ends it.
 */
export function faultStores() {
  let pg: TestPostgres | undefined;
  const cases = [
    { name: 'SQLite', available: true, store: async () => '{ sqlite: ./bulkhead.db }' },
    {
      name: 'PostgreSQL',
      available: postgresAvailable() || process.env.CI === 'true',
      store: async () => {
        pg ??= await startPostgres();
        return `{ postgres: { url: ${JSON.stringify(pg.url)} } }`;
      },
    },
  ];
  return { cases, stop: () => pg?.stop() };
}

/**
 * An in-process replica on `yaml`'s store that re-reads runs and approvals only every 10 minutes:
 * it learns of another replica's kill or decision only by a signal, or by what the store refuses.
 */
export function deafReplica(yaml: string, dir: string): Promise<TestGateway> {
  const rarely = 600_000;
  return startTestGateway(yaml, {
    dir,
    env: ORDERS_ENV,
    gateway: { propagation: { pollMs: rarely, fallbackPollMs: rarely } },
  });
}

/**
 * Two replicas on `yaml`'s store: `killer`, a real process that dies with SIGKILL right after it
 * commits a run's end (fault point `run-ended`), before it withdraws or tells anything; and a
 * deaf in-process replica (`deafReplica`) that could only hear of it by a signal.
 */
export async function killerAndDeaf(yaml: string, dir: string) {
  const armed = { ...ORDERS_ENV, BULKHEAD_TEST_FAULT_POINT: 'run-ended' };
  const killer = await spawnGateway(dir, yaml, armed, 'a.yaml').ready;
  return { killer, deaf: await deafReplica(yaml, dir) };
}
