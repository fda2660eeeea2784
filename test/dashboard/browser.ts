/**
 * Real Chromium for the dashboard tests (Debian's `chromium`, driven by
 * playwright-core). Without it the suite is skipped loudly, and under
 * CI=true a missing browser is a failure, never a skip.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { ROOT } from '../helpers/harness.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const DESKTOP = { width: 1366, height: 900 };
export const PHONE = { width: 390, height: 844 };

export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} is missing: install it with apt-get install -y chromium (listed in .ci/apt-packages.txt)`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING dashboard browser tests: ${message}\n`);
  return false;
}

export async function launch(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'bulkhead-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves the page at desktop and phone width into test-artifacts/. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/ui/`);
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Runs', exact: true }).waitFor();
}
