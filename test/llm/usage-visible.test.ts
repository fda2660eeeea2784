/**
 * LLM usage is visible where operators look: `/api/runs/:id` and `bulkhead
 * runs` (text and --json, the real CLI) show input and output tokens and USD
 * against each budget, next to the tool-call and wall-clock budgets.
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import type { RunView } from '../../src/gateway/api-run-view.js';
import { bulkhead } from '../helpers/cli.js';
import { PRICES, useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  agent:
    budgets: { tool_calls: 10, tokens: { input: 5000, output: 400, total: 6000 }, usd: 2 }
`;
const llm = useLlmGateway(PROFILES, PRICES);

describe('LLM usage in runs', () => {
  it('shows tokens and USD against their caps in the API and the CLI', async () => {
    const { run, token } = await llm.gw.gateway.runs.create('agent');
    const client = new Anthropic({ apiKey: token, baseURL: llm.gw.gateway.url, maxRetries: 0 });
    await client.messages.create({
      model: 'claude-test',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hi' }],
    });

    const res = await fetch(`${llm.gw.gateway.url}/api/runs/${run.id}`, {
      headers: { authorization: `Bearer ${llm.gw.gateway.localToken}` },
    });
    const { run: view, events } = (await res.json()) as {
      run: RunView;
      events: { kind: string; data: Record<string, unknown> }[];
    };
    const usage = Object.fromEntries(view.usage.map((u) => [u.dimension, u]));
    expect(usage.input_tokens).toEqual({ dimension: 'input_tokens', used: 26, cap: 5000 });
    expect(usage.output_tokens).toEqual({ dimension: 'output_tokens', used: 12, cap: 400 });
    expect(usage.total_tokens).toEqual({ dimension: 'total_tokens', used: 38, cap: 6000 });
    expect(usage.usd?.cap).toBe(2);
    expect(usage.usd?.used).toBeCloseTo((25 * 3 + 12 * 15 + 10 * 0.3) / 1e6, 9);
    // The timeline's LLM event carries the model and the tokens, for the dashboard to show.
    expect(events.find((e) => e.kind === 'llm.request')?.data).toMatchObject({
      model: 'claude-test',
      usage: { input_tokens: 25, output_tokens: 12 },
    });

    const env = { BULKHEAD_OPERATOR_TOKEN: llm.gw.gateway.localToken };
    const json = await bulkhead(['runs', '--json', '--gateway', llm.gw.gateway.url], { env });
    const listed = (JSON.parse(json.stdout) as RunView[]).find((r) => r.id === run.id);
    expect(listed?.usage.map((u) => u.dimension)).toEqual(
      expect.arrayContaining(['input_tokens', 'output_tokens', 'usd']),
    );
    const text = await bulkhead(['runs', '--gateway', llm.gw.gateway.url], { env });
    expect(text.stdout).toContain('TOKENS IN');
    const row = text.stdout.split('\n').find((l) => l.includes(run.id)) ?? '';
    expect(row).toContain('26/5000');
    expect(row).toContain('12/400');
    expect(row).toMatch(/\$0\.0003\/\$2\.00/);
  }, 60_000);
});
