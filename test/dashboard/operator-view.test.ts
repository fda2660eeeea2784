/**
 * What an operator must see first, in real Chromium against a real gateway:
 * a run's refusals (a probing run is not "clean"), calls and refusals over
 * time, LLM requests with model and tokens, every pending approval with the
 * soonest deadline first (also past a page of 200), "Edit arguments" only
 * where the tool's rule allows it, and a banner that says what an
 * unreachable gateway means for an action.
 */
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../src/dashboard/build.js';
import { exampleUpstream, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { chromiumAvailable, launch, screenshots, signIn } from './browser.js';
import { ADMIN_TOKEN, CANARY } from './fixture.js';

const enabled = chromiumAvailable();
const dir = tempDir('bulkhead-operator-view-');

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')) })}
tools:
  orders:
    get_order_status:
      class: read
      arguments:
        order_id: { pattern: "^ORD-[0-9]{6}$" }
    list_orders:
      class: write
      approval: { approvers: [admin], timeout: 5m }
    refund_order:
      class: irreversible
      approval: { approvers: [admin], timeout: 5m, allow_edit: true }
operators:
  alice: { token: { secret: ADMIN_TOKEN }, roles: [admin] }
profiles:
  support-agent:
    tools: [orders__get_order_status, orders__list_orders, orders__refund_order]
    budgets: { tool_calls: 100, wall_clock: 30m }
`;

let gw: TestGateway;
let browser: BrowserContext;
let page: Page;
let url: string;

beforeAll(async () => {
  if (!enabled) return;
  await buildDashboard();
  gw = await startTestGateway(POLICY, { dir, env: { ORDERS_API_TOKEN: CANARY, ADMIN_TOKEN } });
  url = gw.gateway.url;
  browser = await launch();
  page = await browser.newPage();
  await signIn(page, url, ADMIN_TOKEN);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe.skipIf(!enabled)('what an operator sees first', () => {
  it('shows a probing run with its refusals, not as clean', async () => {
    const agent = await gw.agent('support-agent');
    for (let i = 0; i < 10; i++) {
      await agent.client.callTool({
        name: 'orders__get_order_status',
        arguments: { order_id: `1 OR ${i}=${i}` },
      });
    }
    await agent.client.callTool({ name: 'orders__get_order_status', arguments: { order_id: 'ORD-000001' } });
    await page.goto(`${url}/ui/runs`);
    const row = page.locator(`tr[data-run-id="${agent.runId}"]`);
    await row.getByText('10 refused').waitFor();
    expect(await row.locator('.call-counts').textContent()).toContain('11 calls');
  });

  it('charts calls and refusals over time, overall and for the run', async () => {
    await page.goto(`${url}/ui/runs`);
    const overall = page.locator('.call-chart').first();
    await overall
      .locator('figcaption')
      .getByText(/\d+ allowed, 0 held, [1-9]\d* refused/)
      .waitFor();
    const refusedBars = await overall.locator('g[data-refused]:not([data-refused="0"])').count();
    expect(refusedBars).toBeGreaterThan(0);
    const runId = (await page.locator('tr[data-run-id]').first().getAttribute('data-run-id')) ?? '';
    await page.goto(`${url}/ui/runs/${runId}`);
    await page
      .locator('.call-chart figcaption')
      .getByText(/[1-9]\d* refused/)
      .waitFor();
    await screenshots(page, 'run-refusals');
  });

  it('shows an LLM request with its model, tokens and cost in the timeline', async () => {
    const agent = await gw.agent('support-agent');
    await gw.gateway.events.write({
      kind: 'llm.request',
      runId: agent.runId,
      decision: 'allow',
      actor: `run:${agent.runId}`,
      data: { model: 'claude-sonnet-4-5', usage: { input_tokens: 1234, output_tokens: 56 }, usd: 0.0045 },
    });
    await page.goto(`${url}/ui/runs/${agent.runId}`);
    await page.getByText('claude-sonnet-4-5 · 1,234 in / 56 out tokens · $0.0045').waitFor();
  });

  it('lists every pending approval, soonest deadline first, past 200', async () => {
    const agent = await gw.agent('support-agent');
    const now = Date.now();
    for (let i = 0; i < 230; i++) {
      await gw.gateway.store.approvals.create({
        id: `apr_view_${i}`,
        runId: agent.runId,
        tool: 'orders__list_orders',
        toolClass: 'write',
        arguments: { limit: i },
        argsHash: `hash_${i}`,
        why: 'write tool gated by policy',
        quorum: 1,
        approvers: ['admin'],
        createdAt: now - i * 1_000,
        // The oldest-created ones expire soonest; one created last expires first of all.
        expiresAt: i === 0 ? now + 10_000 : now + 600_000 - i * 1_000,
      });
    }
    const response = await fetch(`${url}/api/approvals?state=pending`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const { approvals } = (await response.json()) as { approvals: { id: string; expires_at: number }[] };
    expect(approvals.length).toBeGreaterThanOrEqual(230);
    expect(approvals[0]?.id).toBe('apr_view_0');
    expect(approvals[1]?.id).toBe('apr_view_229');
    const deadlines = approvals.map((a) => a.expires_at);
    expect(deadlines).toEqual([...deadlines].sort((a, b) => a - b));
    await page.goto(`${url}/ui/approvals`);
    await page.locator('article').first().waitFor();
    expect(await page.locator('article').first().textContent()).toContain('"limit": 0');
  });

  it('offers "Edit arguments" only where the tool rule allows edits', async () => {
    const agent = await gw.agent('support-agent');
    const refund = agent.client.callTool(
      {
        name: 'orders__refund_order',
        arguments: { order_id: 'ORD-000001', amount_cents: 100, reason: 'dented' },
      },
      undefined,
      { timeout: 120_000 },
    );
    const listing = agent.client.callTool(
      { name: 'orders__list_orders', arguments: { limit: 3 } },
      undefined,
      {
        timeout: 120_000,
      },
    );
    await page.goto(`${url}/ui/approvals`);
    const refundCard = page.locator('article', { hasText: 'orders__refund_order' }).first();
    const listCard = page.locator('article', { hasText: '"limit": 3' }).first();
    await refundCard.waitFor();
    await listCard.waitFor();
    expect(await refundCard.getByRole('button', { name: 'Edit arguments' }).count()).toBe(1);
    expect(await listCard.getByRole('button', { name: 'Edit arguments' }).count()).toBe(0);
    await gw.gateway.runs.end(agent.runId, 'killed', 'test over');
    await Promise.allSettled([refund, listing]);
  });

  it('says the gateway is unreachable, and that an action taken now changed nothing', async () => {
    const agent = await gw.agent('support-agent');
    await page.goto(`${url}/ui/runs/${agent.runId}`);
    await page.getByRole('button', { name: 'Kill run' }).waitFor();
    await gw.close();
    await page
      .getByRole('alert')
      .filter({ hasText: 'The gateway is unreachable' })
      .waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Kill run' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Kill run' }).click();
    await page.getByText('nothing was changed').waitFor();
    await screenshots(page, 'gateway-unreachable');
  });
});
