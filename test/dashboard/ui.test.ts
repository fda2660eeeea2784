/**
 * The dashboard in real Chromium against a real gateway, real example
 * upstream and real SDK agents: sign-in, live approvals (approve, deny,
 * edit-then-approve), kill from a run's page, audit log filters, and no
 * secret canary in any page or API response the browser receives.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../src/dashboard/build.js';
import { denialCode, type TestGateway, text } from '../helpers/harness.js';
import { chromiumAvailable, launch, screenshots, signIn } from './browser.js';
import { ADMIN_TOKEN, CANARY, startDashboardGateway } from './fixture.js';

const enabled = chromiumAvailable();

let gw: TestGateway;
let browser: BrowserContext;
let page: Page;
let url: string;
/** Every body the browser received from the gateway, for the canary check. */
const received: string[] = [];

beforeAll(async () => {
  if (!enabled) return;
  await buildDashboard();
  gw = await startDashboardGateway();
  url = gw.gateway.url;
  browser = await launch();
  page = await browser.newPage();
  page.on('response', (response) => {
    if (response.url().includes('/api/stream')) return;
    void response
      .text()
      .then((body) => received.push(body))
      .catch(() => undefined);
  });
  await signIn(page, url, ADMIN_TOKEN);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

/** Everything the page has shown: its DOM plus the live-stream data it rendered. */
async function html(): Promise<string> {
  return page.content();
}

describe.skipIf(!enabled)('dashboard in Chromium', () => {
  it('signs in, keeps the token out of storage, and shows the runs page', async () => {
    const agent = await gw.agent('support-agent');
    await agent.client.callTool({ name: 'orders__get_order_status', arguments: { order_id: 'ORD-000001' } });
    await page.goto(`${url}/ui/runs`);
    await page.locator(`tr[data-run-id="${agent.runId}"]`).waitFor();
    const cookies = await browser.cookies(url);
    const session = cookies.find((c) => c.name === 'bulkhead_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    expect(storage).not.toContain(ADMIN_TOKEN);
    expect(await page.evaluate(() => document.cookie)).not.toContain('bulkhead_session');
    // Budget bars, one per dimension.
    await expect
      .poll(() => page.locator(`tr[data-run-id="${agent.runId}"] [role=progressbar]`).count())
      .toBeGreaterThanOrEqual(2);
  });

  it('shows a gated call live in Approvals; approving it completes the agent’s waiting call', async () => {
    await page.goto(`${url}/ui/approvals`);
    await page.getByText('Nothing is waiting for a decision').waitFor();
    const agent = await gw.agent('support-agent');
    const waiting = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000002', amount_cents: 1200, reason: 'damaged in transit' },
    });
    const card = page.locator('[data-tool="orders__refund_order"]');
    await card.waitFor({ timeout: 10_000 });
    await expect.poll(() => page.getByTestId('pending-count').textContent()).toContain('1');
    expect(await card.textContent()).toContain('damaged in transit');
    await expect.poll(() => card.locator('.tl-item').count()).toBeGreaterThan(0);
    await screenshots(page, 'approvals');

    await card.getByLabel(/Reason/).fill('customer sent photos');
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    const result = await waiting;
    expect(denialCode(result)).toBeUndefined();
    expect(text(result)).toContain('ORD-000002');
    await expect.poll(() => page.getByTestId('pending-count').textContent()).toContain('0');
  });

  it('denies a gated call with a reason and the agent sees approval_denied', async () => {
    const agent = await gw.agent('support-agent');
    const waiting = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000003', amount_cents: 99_000, reason: 'wants money back' },
    });
    const card = page.locator('[data-tool="orders__refund_order"]');
    await card.waitFor({ timeout: 10_000 });
    const deny = card.getByRole('button', { name: 'Deny' });
    expect(await deny.isDisabled()).toBe(true);
    await card.getByLabel(/Reason/).fill('amount exceeds the order');
    await deny.click();
    const result = await waiting;
    expect(denialCode(result)).toBe('approval_denied');
  });

  it('approves edited arguments, and only the edited call runs', async () => {
    const agent = await gw.agent('support-agent');
    const waiting = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000004', amount_cents: 5000, reason: 'late' },
    });
    const card = page.locator('[data-tool="orders__refund_order"]');
    await card.waitFor({ timeout: 10_000 });
    await card.getByRole('button', { name: 'Edit arguments' }).click();
    const editor = card.getByLabel(/Edited arguments/);
    const edited = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
    await editor.fill(JSON.stringify({ ...edited, amount_cents: 2500 }, null, 2));
    await card.getByRole('button', { name: 'Approve edited arguments' }).click();
    const result = await waiting;
    expect(denialCode(result)).toBeUndefined();
    expect(text(result)).toContain('2500');
  });

  it('kills a run from its page (with a confirm); the agent’s next call gets run_not_active', async () => {
    const agent = await gw.agent('support-agent');
    await agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: 2 } });
    // The canary leaks upstream; the timeline must show it scrubbed.
    await agent.client.callTool({ name: 'orders__leak_token_for_test', arguments: {} });
    await agent.client.callTool({ name: 'orders__get_order_status', arguments: { order_id: 'ORD-999999' } });
    await page.goto(`${url}/ui/runs/${agent.runId}`);
    await page.locator('.tl-item').first().waitFor();
    // A call made while the page is open appears live.
    const before = await page.locator('.tl-item').count();
    await agent.client.callTool({ name: 'orders__get_order_status', arguments: { order_id: 'ORD-000007' } });
    await expect.poll(() => page.locator('.tl-item').count(), { timeout: 10_000 }).toBe(before + 1);
    const details = page.locator('.tl-details');
    for (const d of await details.all()) await d.evaluate((el) => el.setAttribute('open', ''));
    await expect.poll(() => page.locator('.tl-details .event-data').count()).toBe(await details.count());
    expect(await html()).toContain('[REDACTED');
    await screenshots(page, 'run');

    await page.getByRole('button', { name: 'Kill run' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/Reason/).fill('dashboard test');
    await dialog.getByRole('button', { name: 'Kill run' }).click();
    await page.locator('.run-title .badge', { hasText: 'killed' }).waitFor();
    const result = await agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: 1 } });
    expect(denialCode(result)).toBe('run_not_active');
  });

  it('lists runs with kill-all, and shows the tools catalog', async () => {
    await gw.agent('support-agent');
    await page.goto(`${url}/ui/runs`);
    await page.locator('tr[data-run-id]').first().waitFor();
    await screenshots(page, 'runs');
    await page.goto(`${url}/ui/tools`);
    await page.getByText('orders__refund_order').waitFor();
    expect(await page.locator('tr', { hasText: 'orders__refund_order' }).textContent()).toContain('approval');
    await screenshots(page, 'tools');
  });

  it('filters the audit log by decision, tool and code, and pages with the cursor', async () => {
    await page.goto(`${url}/ui/audit`);
    await page.locator('tr[data-event-id]').first().waitFor();
    const total = Number((await page.getByTestId('audit-total').textContent())?.replace(/\D/g, ''));
    expect(total).toBeGreaterThan(10);
    await screenshots(page, 'audit');

    await page.getByLabel('Decision').selectOption('deny');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.url()).toContain('decision=deny');
    await page.locator('tr[data-event-id]').first().waitFor();
    const decisions = await page.locator('tr[data-event-id] td[data-label="Decision"]').allTextContents();
    expect(decisions.length).toBeGreaterThan(0);
    for (const d of decisions) expect(d).toContain('deny');

    await page.getByLabel('Code').fill('run_not_active');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.locator('tr[data-event-id]').count()).toBe(1);

    await page.goto(`${url}/ui/audit?tool=orders__refund_order`);
    await page.locator('tr[data-event-id]').first().waitFor();
    const tools = await page.locator('tr[data-event-id] td[data-label="Tool"]').allTextContents();
    expect(new Set(tools)).toEqual(new Set(['orders__refund_order']));

    // Cursor paging: enough events for more than one page of 100. The run's budget (40) runs out on
    // the way and its sessions close soon after, so late calls may fail: each still leaves an event.
    const agent = await gw.agent('support-agent');
    await Promise.allSettled(
      Array.from({ length: 110 }, (_, i) =>
        agent.client.callTool({
          name: 'orders__get_order_status',
          arguments: { order_id: `ORD-${String(100 + i).padStart(6, '0')}` },
        }),
      ),
    );
    await page.goto(`${url}/ui/audit`);
    await page.locator('tr[data-event-id]').first().waitFor();
    await expect.poll(() => page.locator('tr[data-event-id]').count()).toBe(100);
    const firstPage = await page
      .locator('tr[data-event-id]')
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-event-id'))));
    await page.getByRole('button', { name: 'Older →' }).click();
    await expect.poll(() => page.url()).toContain('before=');
    await expect
      .poll(async () => Number(await page.locator('tr[data-event-id]').first().getAttribute('data-event-id')))
      .toBeLessThan(Math.min(...firstPage));
  });

  it('never shows the upstream credential (canary) on any page or in any response', async () => {
    for (const path of ['/ui/runs', '/ui/approvals', '/ui/audit', '/ui/tools']) {
      await page.goto(`${url}${path}`);
      await page.waitForLoadState('networkidle');
      expect(await html()).not.toContain(CANARY);
    }
    const base64 = Buffer.from(CANARY).toString('base64');
    for (const body of received) {
      expect(body).not.toContain(CANARY);
      expect(body).not.toContain(base64);
      expect(body).not.toContain(ADMIN_TOKEN);
    }
    expect(received.length).toBeGreaterThan(20);
  });

  it('signs out, and the page asks for a token again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Operator token').waitFor();
    await screenshots(page, 'signin');
    const response = await page.request.get(`${url}/api/runs`);
    expect(response.status()).toBe(401);
  });
});
