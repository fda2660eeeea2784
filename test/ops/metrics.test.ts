/**
 * /metrics answers operators' questions with bounded labels: decisions by
 * tool and code, stage latency, upstream health, pending approvals and their
 * age, scrub findings by rule, egress refusals, store latency, LLM usage by
 * profile and model. No run id and no name an agent made up becomes a label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingUpstream, startTestGateway, type TestGateway } from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
tools:
  everything:
    echo: { class: read }
    get-sum: { class: write, approval: { approvers: [admin], timeout: 10m } }
profiles:
  agent:
    tools: [everything__echo, everything__get-sum]
operators: {}
`;

let gw: TestGateway;
let runId: string;
let scrape = '';

function sample(name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of scrape.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

beforeAll(async () => {
  gw = await startTestGateway(POLICY);
  const agent = await gw.agent('agent');
  runId = agent.runId;
  await agent.client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } });
  // An AWS-shaped key in the upstream's answer is redacted on the way back.
  await agent.client.callTool({
    name: 'everything__echo',
    arguments: { message: 'key AKIAIOSFODNN7EXAMPLE' },
  });
  await agent.client.callTool({ name: 'made_up_tool_with_a_unique_name', arguments: {} });
  // Held for approval: stays pending while we scrape.
  void agent.client
    .callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } }, undefined, { timeout: 600_000 })
    .catch(() => undefined);
  await fetch(`${gw.gateway.url}/api/runs/${runId}/egress`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.gateway.localToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      method: 'CONNECT',
      host: 'evil.test',
      port: 443,
      decision: 'deny',
      reason: 'not allowed',
    }),
  });
  // LLM usage as the proxy records it (the proxy itself is tested in test/llm).
  await gw.gateway.events.write({
    kind: 'llm.request',
    runId,
    decision: 'allow',
    actor: `run:${runId}`,
    data: {
      model: 'claude-test',
      usage: { input_tokens: 90, output_tokens: 40 },
      charged_input: 100,
      usd: 0.25,
    },
  });
  await gw.gateway.events.write({
    kind: 'llm.request',
    runId,
    decision: 'deny',
    code: 'model_not_allowed',
    actor: `run:${runId}`,
    data: { model: 'a-model-name-the-agent-made-up' },
  });
  const deadline = Date.now() + 10_000;
  while ((await gw.gateway.store.approvals.list({ state: 'pending' })).length === 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1_100));
  scrape = await (await fetch(`${gw.gateway.url}/metrics`)).text();
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

describe('/metrics', () => {
  it('counts decisions by exposed tool and denial code, never by a name the agent made up', () => {
    expect(sample('bulkhead_tool_calls_total', { tool: 'everything__echo', decision: 'allow' })).toBe(2);
    expect(sample('bulkhead_tool_calls_total', { tool: '', code: 'tool_not_in_scope' })).toBe(1);
    expect(scrape).not.toContain('made_up_tool_with_a_unique_name');
    expect(sample('bulkhead_profile_tool_calls_total', { profile: 'agent', decision: 'allow' })).toBe(2);
  });

  it('has per-stage latency histograms', () => {
    for (const stage of ['run-state', 'scope', 'validate', 'budget', 'execute', 'inspect'])
      expect(sample('bulkhead_pipeline_stage_seconds_count', { stage, result: 'continue' })).toBeGreaterThan(
        0,
      );
    expect(sample('bulkhead_pipeline_stage_seconds_count', { stage: 'scope', result: 'deny' })).toBe(1);
  });

  it('reports upstream health, pending approvals and the age of the oldest', () => {
    expect(sample('bulkhead_upstream_up', { upstream: 'everything' })).toBe(1);
    expect(sample('bulkhead_approvals_pending')).toBe(1);
    expect(sample('bulkhead_approvals_oldest_pending_seconds')).toBeGreaterThanOrEqual(1);
  });

  it('counts scrub findings by rule, egress refusals and store latency', () => {
    expect(sample('bulkhead_scrub_findings_total', { rule: 'aws-access-key-id' })).toBe(1);
    expect(sample('bulkhead_egress_refusals_total', { code: 'egress_denied' })).toBe(1);
    // Events are group-committed (appendBatch) where the store can, one at a time (append) where not.
    const appends = ['events.append', 'events.appendBatch'].reduce(
      (n, operation) => n + (sample('bulkhead_store_operation_seconds_count', { operation }) ?? 0),
      0,
    );
    expect(appends).toBeGreaterThan(0);
  });

  it('reports LLM tokens and spend by profile and allowed model only', () => {
    expect(
      sample('bulkhead_llm_tokens_total', { profile: 'agent', model: 'claude-test', direction: 'input' }),
    ).toBe(100);
    expect(
      sample('bulkhead_llm_tokens_total', { profile: 'agent', model: 'claude-test', direction: 'output' }),
    ).toBe(40);
    expect(sample('bulkhead_llm_spend_usd_total', { profile: 'agent', model: 'claude-test' })).toBe(0.25);
    expect(
      sample('bulkhead_llm_requests_total', {
        profile: 'agent',
        decision: 'deny',
        code: 'model_not_allowed',
      }),
    ).toBe(1);
    expect(scrape).not.toContain('a-model-name-the-agent-made-up');
  });

  it('never uses a run id as a label', () => {
    expect(scrape).not.toContain(runId);
    expect(scrape).not.toMatch(/run_id=/);
  });
});
