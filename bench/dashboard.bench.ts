/**
 * Dashboard benchmark, in real Chromium against a real gateway whose SQLite
 * store holds 100,000 audit events:
 *  - time to first render: navigation start → the first row of Runs / the
 *    Audit log (unfiltered, filtered, and a page deep in the cursor) is on screen;
 *  - live latency: an event written by the gateway's EventWriter → its row in
 *    an open page (run timeline, audit log), measured in the page with a
 *    MutationObserver against the same clock.
 *
 *   npx tsx bench/run.ts dashboard        (or: npm run bench -- dashboard)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type BrowserContext, chromium } from 'playwright-core';
import { buildDashboard } from '../src/dashboard/build.js';
import { type Gateway, startGateway } from '../src/gateway/gateway.js';
import { loadPolicyFile } from '../src/policy/load.js';
import { formatTable, percentile } from './lib/stats.js';

const EVENTS = 100_000;
const RUNS = 200;
const TOOLS = [
  'orders__get_order_status',
  'orders__list_orders',
  'mail__send_email',
  'files__read_text_file',
];
const CODES = ['invalid_arguments', 'rate_limited', 'tool_not_in_scope', 'budget_exhausted'];

export interface DashboardBenchRow {
  measure: string;
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export async function run(
  options: { renders?: number; live?: number; log?: (line: string) => void } = {},
): Promise<DashboardBenchRow[]> {
  const renders = options.renders ?? 15;
  const liveEvents = options.live ?? 300;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'bulkhead-dashboard-bench-'));
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1
store: { sqlite: ./bulkhead.db }
upstreams: {}
tools: {}
profiles:
  agent:
    tools: []
    budgets: { tool_calls: 1000, wall_clock: 2h }
`,
  );
  await buildDashboard();
  let gateway: Gateway | undefined;
  let browser: BrowserContext | undefined;
  try {
    gateway = await startGateway({
      loaded: loadPolicyFile(join(dir, 'policy.yaml')),
      port: 0,
      home: join(dir, 'home'),
      env: {},
      logDestination: join(dir, 'gateway.log') as never,
    });
    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i++) runIds.push((await gateway.runs.create('agent')).run.id);
    log(`seeding ${EVENTS} events…`);
    seed(join(dir, 'bulkhead.db'), runIds);

    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'bulkhead-chromium-')), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1366, height: 900 },
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
    const page = await browser.newPage();
    // In the page, from navigation start: when did the first row of each kind appear?
    await page.addInitScript(() => {
      const first: Record<string, number> = {};
      (window as unknown as { __first: Record<string, number> }).__first = first;
      const selectors = ['tr[data-run-id]', 'tr[data-event-id]', '.tl-item'];
      new MutationObserver(() => {
        for (const sel of selectors)
          if (first[sel] === undefined && document.querySelector(sel)) first[sel] = performance.now();
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${gateway.url}/ui/`);
    await page.getByLabel('Operator token').fill(gateway.localToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr[data-run-id]').first().waitFor();

    const rows: DashboardBenchRow[] = [];
    const url = gateway.url;
    const firstRender = async (measure: string, path: string, selector: string) => {
      const times: number[] = [];
      for (let i = 0; i < renders; i++) {
        await page.goto(`${url}${path}`);
        await page.locator(selector).first().waitFor();
        times.push(
          await page.evaluate(
            (sel) => (window as unknown as { __first: Record<string, number> }).__first[sel] ?? Number.NaN,
            selector,
          ),
        );
      }
      rows.push(row(measure, times));
      log(`${measure}: p50 ${rows.at(-1)?.p50.toFixed(1)} ms`);
    };
    await firstRender(`Runs (${RUNS} runs), first render`, '/ui/runs', 'tr[data-run-id]');
    await firstRender(`Audit log, ${EVENTS} events, first render`, '/ui/audit', 'tr[data-event-id]');
    await firstRender(
      'Audit log filtered (tool + decision=deny)',
      `/ui/audit?tool=${TOOLS[0]}&decision=deny`,
      'tr[data-event-id]',
    );
    await firstRender('Audit log, page at id 50,000', '/ui/audit?before=50000', 'tr[data-event-id]');
    await firstRender('Run page (500 events), first render', `/ui/runs/${runIds[0]}`, '.tl-item');
    // Reading the 100,000-event audit log end to end through the cursor, as an API client would.
    const pageTimes: number[] = [];
    let before: number | null = null;
    let pages = 0;
    do {
      const t0 = performance.now();
      const response = await fetch(`${url}/api/events?limit=1000${before ? `&before=${before}` : ''}`, {
        headers: { authorization: `Bearer ${gateway.localToken}` },
      });
      const body = (await response.json()) as { next_before: number | null };
      pageTimes.push(performance.now() - t0);
      before = body.next_before;
      pages++;
    } while (before !== null && pages < 200);
    rows.push(row(`GET /api/events, ${pages} pages of 1,000 via cursor`, pageTimes));

    const live = async (measure: string, path: string, selector: string, runId: string) => {
      await page.goto(`${url}${path}`);
      await page.locator(selector).first().waitFor();
      await page.locator('.live-live').waitFor();
      await page.evaluate((sel) => {
        const seen: Record<string, number> = {};
        (window as unknown as { __seen: Record<string, number> }).__seen = seen;
        new MutationObserver((records) => {
          const at = performance.timeOrigin + performance.now();
          for (const r of records)
            for (const n of Array.from(r.addedNodes)) {
              if (!(n instanceof Element)) continue;
              const el = n.matches(sel) ? n : n.querySelector(sel);
              const id = el?.getAttribute('data-event-id');
              if (id && seen[id] === undefined) seen[id] = at;
            }
        }).observe(document.body, { childList: true, subtree: true });
      }, selector);
      const written = new Map<number, number>();
      for (let i = 0; i < liveEvents; i++) {
        const t0 = performance.timeOrigin + performance.now();
        const event = await gateway!.events.write({
          kind: 'tools/call',
          runId,
          tool: TOOLS[i % TOOLS.length] ?? null,
          decision: 'allow',
          actor: `run:${runId}`,
          data: { arguments: { order_id: `ORD-${String(i).padStart(6, '0')}` }, totalMs: 3 },
        });
        written.set(event.id, t0);
        await new Promise((r) => setTimeout(r, 15));
      }
      await page.waitForTimeout(500);
      const seen = await page.evaluate(
        () => (window as unknown as { __seen: Record<string, number> }).__seen,
      );
      const latencies: number[] = [];
      for (const [id, t0] of written) {
        const at = seen[String(id)];
        if (at !== undefined) latencies.push(at - t0);
      }
      rows.push(row(measure, latencies));
      log(`${measure}: ${latencies.length}/${written.size} seen, p50 ${rows.at(-1)?.p50.toFixed(1)} ms`);
    };
    const liveRun = runIds[1] ?? '';
    await live('Event → run timeline (live)', `/ui/runs/${liveRun}`, '.tl-item[data-event-id]', liveRun);
    await live('Event → audit log row (live)', '/ui/audit', 'tr[data-event-id]', liveRun);
    return rows;
  } finally {
    await browser?.close();
    await gateway?.close();
  }
}

export function print(rows: DashboardBenchRow[]): string {
  return formatTable([
    ['measure', 'n', 'p50 ms', 'p99 ms', 'max ms'],
    ...rows.map((r) => [r.measure, String(r.n), r.p50, r.p99, r.max]),
  ]);
}

function row(measure: string, values: number[]): DashboardBenchRow {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    measure,
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** 100,000 realistic events in one transaction, straight into the gateway's SQLite file. */
function seed(file: string, runIds: string[]): void {
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  const insert = db.prepare(
    'INSERT INTO events (at, kind, run_id, tool, decision, code, actor, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const start = Date.now() - EVENTS * 50;
  db.transaction(() => {
    for (let i = 0; i < EVENTS; i++) {
      // The first run gets 500 events (a busy run page); the rest spread over all runs.
      const runId = (i < 500 ? runIds[0] : runIds[i % runIds.length]) ?? null;
      const deny = i % 9 === 0;
      const tool = TOOLS[i % TOOLS.length] ?? null;
      const data = {
        arguments: { order_id: `ORD-${String(i % 1_000_000).padStart(6, '0')}`, note: 'x'.repeat(i % 200) },
        ...(deny
          ? { message: 'The arguments do not match the tool schema.' }
          : {
              result: [{ type: 'text', text: JSON.stringify({ id: i, status: 'shipped' }) }],
              resultBytes: 60,
            }),
        totalMs: (i % 40) + 1,
      };
      insert.run(
        start + i * 50,
        'tools/call',
        runId,
        tool,
        deny ? 'deny' : 'allow',
        deny ? (CODES[i % CODES.length] ?? null) : null,
        `run:${runId}`,
        JSON.stringify(data),
      );
    }
  })();
  db.close();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await run();
  process.stdout.write(`${print(rows)}\n`);
}
