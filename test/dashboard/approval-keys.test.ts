/**
 * The dashboard's approval card, in real Chromium: a map argument with keys
 * `PATH` and `PАTH` (Cyrillic А) drew `"PATH"` twice, so an approver could
 * not see which value the upstream reads as `PATH`. The look-alike key is
 * written out; hidden characters in keys and values are too.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../src/dashboard/build.js';
import type { TestGateway } from '../helpers/harness.js';
import { chromiumAvailable, launch, signIn } from './browser.js';
import { ADMIN_TOKEN, startDashboardGateway } from './fixture.js';

const enabled = chromiumAvailable();

let gw: TestGateway;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  if (!enabled) return;
  await buildDashboard();
  gw = await startDashboardGateway();
  browser = await launch();
  page = await browser.newPage();
  await signIn(page, gw.gateway.url, ADMIN_TOKEN);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

/** The text of the approval card for a held call of `args`. */
async function cardFor(id: string, args: Record<string, unknown>): Promise<string> {
  const agent = await gw.agent('support-agent');
  await gw.gateway.store.approvals.create({
    id,
    runId: agent.runId,
    tool: 'orders__refund_order',
    toolClass: 'irreversible',
    arguments: args,
    argsHash: `hash_${id}`,
    why: 'irreversible tool gated by policy',
    quorum: 1,
    approvers: ['admin'],
    createdAt: Date.now(),
    expiresAt: Date.now() + 600_000,
  });
  await page.goto(`${gw.gateway.url}/ui/approvals`);
  const card = page.locator(`article[data-approval-id="${id}"]`);
  await card.waitFor();
  return (await card.locator('pre.json').first().textContent()) ?? '';
}

describe.skipIf(!enabled)('keys an approver would read as another key, on the approval card', () => {
  it('writes out a look-alike key beside the key it imitates', async () => {
    const text = await cardFor('apr_keys_lookalike', { env: { PATH: '/usr/bin', 'P\u0410TH': '/tmp/evil' } });
    expect(text).toContain('"P\\u{410}TH": "/tmp/evil"');
    expect(text.match(/"PATH"/g)).toHaveLength(1);
  });

  it('writes out zero-width characters in a key and a line separator in a value', async () => {
    const text = await cardFor('apr_keys_hidden', { 'PA\u200bTH': 'ls\u2028rm' });
    expect(text).toContain('"PA\\u{200b}TH": "ls\\u{2028}rm"');
  });
});
