/**
 * Real Claude Code (the pinned npm package) jailed by `bulkhead run --agent
 * claude-code` while its gateway is killed with SIGKILL and started again on
 * the same port and store, with a request in flight at the kill:
 *
 * - a model stream (the LLM proxy's answer is cut in the middle): Claude Code
 *   asks again, the jail's bridge holds the request until the new gateway
 *   listens, and the run goes on;
 * - a tools/call on a slow upstream tool: the agent gets an error for that
 *   call (its outcome is unknown; it is not sent again), its next call reaches
 *   the new gateway through a reopened session, and the run goes on;
 * - a call held for approval, its answer a stream: Claude Code reconnects the
 *   cut stream with its priming event id and the new gateway answers the call
 *   withdrawn (its approval stays pending for an identical retry).
 *
 * Under load the restart takes seconds; Claude Code's own timeouts are left
 * at their defaults. On failure the test prints the agent's debug log tail,
 * both gateways' output and what the model was asked, in order.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, type ScriptBlock, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import {
  api,
  freePort,
  type GatewayProcess,
  killAll,
  ordersUpstream,
  spawnGateway,
  waitFor,
} from '../faults/processes.js';
import {
  agentCopy,
  CLAUDE_BETAS,
  claudeToolResults,
  type Message,
  ordersAgentPolicy,
  toolUse,
} from '../helpers/agent-scene.js';
import { bulkhead, type CliResult } from '../helpers/cli.js';
import { ROOT, recorded, tempDir } from '../helpers/harness.js';
import { skipWithoutSandbox } from '../sandbox/jail-harness.js';

const skip = skipWithoutSandbox();
const KEY = 'sk-ant-real-key-for-tests-0123456789';
const ENV = {
  ORDERS_API_TOKEN: 'orders-restart-token-0001',
  ANTHROPIC_API_KEY: KEY,
  ALICE: 'bho_alice-restart-token-0001',
};

let fake: FakeAnthropic;
let claude = '';
let packageDir = '';
const dirs: string[] = [];

/** What the model does, keyed by the marker in the prompt: the blocks of each turn. */
const plans = new Map<string, (turn: number) => ScriptBlock[]>();

function markerOf(body: Record<string, unknown>): string {
  const first = ((body.messages as Message[] | undefined) ?? [])[0];
  return typeof first?.content === 'string' ? first.content : JSON.stringify(first?.content ?? '');
}

const turnOf = (body: Record<string, unknown>) =>
  ((body.messages as Message[] | undefined) ?? []).filter((m) => m.role === 'assistant').length;

const toolResults = () => claudeToolResults(fake.received);

beforeAll(async () => {
  if (skip) return;
  fake = await startFakeAnthropic();
  fake.scriptFor = (body) => {
    const prompt = markerOf(body);
    const plan = [...plans.entries()].find(([marker]) => prompt.includes(marker))?.[1];
    return plan ? plan(turnOf(body)) : [{ type: 'text', chunks: ['ok'] }];
  };
  packageDir = agentCopy(
    'bulkhead-claude-restart-',
    join(ROOT, 'node_modules/@anthropic-ai/claude-code'),
    'claude-code',
  );
  claude = join(packageDir, 'claude-code', 'cli.js');
}, 120_000);
afterAll(async () => {
  killAll();
  await fake?.close();
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function policy(dir: string): string {
  return ordersAgentPolicy({
    upstream: ordersUpstream(dir),
    llmUrl: fake.url,
    extraTools: ['    slow_echo: { class: read }'],
    profileTools: ['orders__get_order_status', 'orders__slow_echo', 'orders__refund_order'],
    profileLlm: `      betas: [${CLAUDE_BETAS.join(', ')}]`,
  });
}

/** One gateway process after another on the same port and store, and a jailed Claude Code run against them. */
class Scene {
  readonly dir = tempDir('bulkhead-claude-restart-');
  readonly record = join(this.dir, 'received.jsonl');
  readonly gateways: GatewayProcess[] = [];
  port = 0;
  running: Promise<CliResult> | undefined;

  constructor() {
    dirs.push(this.dir);
  }

  async start(): Promise<GatewayProcess> {
    if (!this.port) this.port = await freePort();
    const started = spawnGateway(this.dir, policy(this.dir), ENV, 'policy.yaml', {
      port: this.port,
      logLevel: 'info',
    });
    const gw = await started.ready;
    this.gateways.push(gw);
    return gw;
  }

  run(marker: string): Promise<CliResult> {
    const workdir = tempDir('bulkhead-claude-restart-work-');
    dirs.push(workdir);
    writeFileSync(join(workdir, 'README.md'), 'a project\n');
    const gw = this.gateways[0] as GatewayProcess;
    this.running = bulkhead(
      [
        'run',
        '--policy',
        join(this.dir, 'policy.yaml'),
        '--profile',
        'coder',
        '--agent',
        'claude-code',
        '--workdir',
        workdir,
        '--',
        'node',
        claude,
        '-p',
        `${marker}: check the order`,
        '--allowedTools',
        'mcp__bulkhead',
        '--output-format',
        'json',
        '--debug-to-stderr',
      ],
      {
        env: { BULKHEAD_HOME: join(this.dir, 'home-policy.yaml'), BULKHEAD_GATEWAY: gw.url },
        timeoutMs: 240_000,
      },
    );
    return this.running;
  }

  /** kill -9 of the gateway (its upstreams follow it), then a new one on the same port and store. */
  async replace(): Promise<void> {
    const old = this.gateways.at(-1) as GatewayProcess;
    old.child.kill('SIGKILL');
    await old.exited;
    await this.start();
  }

  /** What to read when the run did not go on: the agent's debug log, the gateways, the model's requests. */
  diagnostics(marker: string, result: CliResult): string {
    const asked = fake.received
      .filter((r) => markerOf(r.body).includes(marker))
      .map((r) => `${r.path} turn ${turnOf(r.body)} stream=${String(r.body.stream)}`);
    return [
      `exit code ${result.code}; stdout: ${result.stdout.slice(-2_000)}`,
      `model requests: ${asked.join(' | ')}`,
      ...this.gateways.map((g, i) => `gateway ${i} output (tail):\n${g.output().slice(-6_000)}`),
      `upstream received: ${JSON.stringify(recorded(this.record))}`,
      `agent stderr (tail):\n${result.stderr.slice(-15_000)}`,
    ].join('\n\n');
  }
}

/** The run's final JSON, or a failure that prints everything needed to see why there is none. */
function finalOf(scene: Scene, marker: string, result: CliResult): { result: string } {
  try {
    return JSON.parse(result.stdout) as { result: string };
  } catch {
    throw new Error(`Claude Code did not finish:\n${scene.diagnostics(marker, result)}`);
  }
}

describe.skipIf(skip)('a jailed Claude Code whose gateway is killed and replaced mid-run', () => {
  it('goes on after a model stream was cut by the kill', async () => {
    const scene = new Scene();
    await scene.start();
    const marker = `stream-cut-${Date.now()}`;
    let slowServed = false;
    plans.set(marker, (turn) => {
      if (turn === 0) return [toolUse('toolu_first', 'orders__get_order_status', { order_id: 'ORD-000003' })];
      if (turn === 1 && !slowServed) {
        slowServed = true;
        // Long enough (thousands of events) to be in flight at the kill.
        return [{ type: 'text', chunks: Array.from({ length: 4_000 }, () => '.') }];
      }
      if (turn === 1) return [toolUse('toolu_after', 'orders__get_order_status', { order_id: 'ORD-000004' })];
      return [{ type: 'text', chunks: ['looked up both'] }];
    });
    const running = scene.run(marker);
    const streaming = () =>
      fake.received.some((r) => markerOf(r.body).includes(marker) && turnOf(r.body) === 1) || undefined;
    await waitFor(streaming, 180_000, 'the second model request').catch(async (error) => {
      throw new Error(
        `${error}\n${scene.diagnostics(marker, await Promise.race([running, stillRunning()]))}`,
      );
    });
    await new Promise((r) => setTimeout(r, 500));
    await scene.replace();
    const result = await running;
    const final = finalOf(scene, marker, result);
    expect(final.result, scene.diagnostics(marker, result)).toBe('looked up both');
    expect(toolResults().get('toolu_after')?.isError).toBe(false);
    const looked = recorded(scene.record).map((r) => (r.arguments as { order_id?: string }).order_id);
    expect(looked).toEqual(['ORD-000003', 'ORD-000004']);
  }, 300_000);

  it('goes on after a tool call in flight at the kill (a slow upstream tool), which is not sent again', async () => {
    const scene = new Scene();
    await scene.start();
    const marker = `call-cut-${Date.now()}`;
    plans.set(marker, (turn) =>
      turn === 0
        ? [toolUse('toolu_slow', 'orders__slow_echo', { ms: 60_000, text: marker })]
        : turn === 1
          ? [toolUse('toolu_after', 'orders__get_order_status', { order_id: 'ORD-000005' })]
          : [{ type: 'text', chunks: ['went on'] }],
    );
    const running = scene.run(marker);
    const slowArrived = () =>
      recorded(scene.record).some(
        (r) => r.tool === 'slow_echo' && (r.arguments as { text?: string }).text === marker,
      ) || undefined;
    await waitFor(slowArrived, 180_000, 'the slow call at the upstream').catch(async (error) => {
      throw new Error(
        `${error}\n${scene.diagnostics(marker, await Promise.race([running, stillRunning()]))}`,
      );
    });
    await scene.replace();
    const result = await running;
    const final = finalOf(scene, marker, result);
    expect(final.result, scene.diagnostics(marker, result)).toBe('went on');
    // The cut call reached the model as an error saying its outcome is unknown, and was not sent again.
    const slow = toolResults().get('toolu_slow');
    expect(slow?.isError).toBe(true);
    expect(slow?.text).toContain('outcome is unknown');
    expect(recorded(scene.record).filter((r) => r.tool === 'slow_echo')).toHaveLength(1);
    expect(toolResults().get('toolu_after')?.isError).toBe(false);
    expect(
      recorded(scene.record).some((r) => (r.arguments as { order_id?: string }).order_id === 'ORD-000005'),
    ).toBe(true);
  }, 300_000);

  it('goes on after a call held for approval at the kill: the cut stream is answered withdrawn by the new gateway', async () => {
    const scene = new Scene();
    const first = await scene.start();
    const marker = `held-cut-${Date.now()}`;
    plans.set(marker, (turn) =>
      turn === 0
        ? [
            toolUse('toolu_held', 'orders__refund_order', {
              order_id: 'ORD-000006',
              amount_cents: 5,
              reason: marker,
            }),
          ]
        : turn === 1
          ? [toolUse('toolu_after', 'orders__get_order_status', { order_id: 'ORD-000006' })]
          : [{ type: 'text', chunks: ['after the held call'] }],
    );
    const running = scene.run(marker);
    const pending = async () => {
      const { body } = await api<{ approvals: { arguments: { reason?: string } }[] }>(
        first.url,
        ENV.ALICE,
        '/api/approvals?state=pending',
      );
      return body.approvals.some((p) => p.arguments.reason === marker) || undefined;
    };
    await waitFor(pending, 180_000, 'the held call').catch(async (error) => {
      throw new Error(
        `${error}\n${scene.diagnostics(marker, await Promise.race([running, stillRunning()]))}`,
      );
    });
    // The held answer's stream has started (the gate held the call before the approval was listed).
    await scene.replace();
    const result = await running;
    const final = finalOf(scene, marker, result);
    expect(final.result, scene.diagnostics(marker, result)).toBe('after the held call');
    const held = toolResults().get('toolu_held');
    expect(held?.isError).toBe(true);
    expect(held?.text).toContain('approval_withdrawn');
    expect(toolResults().get('toolu_after')?.isError).toBe(false);
    // Never ran: it waits, pending, for an identical retry.
    expect(recorded(scene.record).filter((r) => r.tool === 'refund_order')).toEqual([]);
  }, 300_000);
});

/** A stand-in result for a run still going, so diagnostics can be printed without waiting for it. */
function stillRunning(): Promise<CliResult> {
  return new Promise((r) => setTimeout(() => r({ code: null, stdout: '(still running)', stderr: '' }), 100));
}
