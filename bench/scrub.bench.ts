/**
 * Scrubber throughput vs a naive one-regex-per-secret baseline, and the added
 * latency of tool-output inspection. Run: `npx tsx bench/scrub.bench.ts`.
 *
 * Same 1 MiB text for both: log lines, JSON and prose with a few planted
 * secrets and credential-shaped tokens. The scrubber runs with the full rule
 * set and default PII actions; the baseline matches only the known secrets
 * (raw form), one global regex each, so it does strictly less work.
 */

import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { inspectToolResult } from '../src/inspect/index.js';
import { BUILTIN_RULES, createScrubber as createFromSource } from '../src/scrub/index.js';
import { type Target, targetOn } from './lib/targets.js';
import {
  benchThroughput,
  type CreateScrubber,
  corpus,
  REPETITIONS,
  STREAMED_BASELINE,
  secretsOf,
  type ThroughputRow,
} from './scrub-throughput.js';

const MIB = 1 << 20;
const ROUNDS = 9;

export interface ScrubBenchRow {
  secrets: number;
  scrubberMBps: number;
  baselineMBps: number;
  buildMs: number;
}

export interface ScrubBenchReport {
  rules: number;
  rows: ScrubBenchRow[];
  inspect: { bytes: number; p50Ms: number; p99Ms: number };
  addSecrets: {
    baseSecrets: number;
    additions: number;
    p50Ms: number;
    p99Ms: number;
    meanMs: number;
    maxMs: number;
  };
  /** Wall-clock MB/s, median of 15; with BENCH_SCRUB_AGAINST, the other build's in the same rounds and the ratio. */
  adversarial: { input: string; MBps: number; against?: { MBps: number; ratio: number } }[];
  /** 1 MiB inputs, default scrubber: CPU time, median and spread of interleaved rounds (scrub-throughput.ts). */
  throughput: ThroughputRow[];
  /** What was measured: `compiled DIR` (BENCH_GATEWAY_FROM) or `sources (tsx)`. */
  measured?: string;
  /** The other build measured in the same rounds (BENCH_SCRUB_AGAINST), if any. */
  against?: string;
  /** Load average before and after the throughput rounds. */
  throughputLoad?: [number[], number[]];
  loadavg: number[];
}

const ORDINARY_TARGET = 100;
const HOSTILE_TARGET = 50;
const ADD_P99_TARGET_MS = 50;

function naiveScrubber(secrets: readonly string[]): (text: string) => string {
  const patterns = secrets.map((s) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'));
  return (text) => {
    let out = text;
    for (const p of patterns) out = out.replace(p, '[REDACTED:secret]');
    return out;
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function timeMs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function mbps(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

function benchScrub(count: number): ScrubBenchRow {
  const secrets = secretsOf(count);
  const text = corpus(secrets);
  let scrubber = createScrubber();
  const buildMs = timeMs(() => {
    scrubber = createScrubber({ secrets });
  });
  const naive = naiveScrubber(secrets);
  for (let w = 0; w < 3; w++) {
    scrubber.text(text); // warm-up: let the JIT optimise both before timing
    naive(text);
  }
  const ours: number[] = [];
  const base: number[] = [];
  // Each contender runs its rounds back to back, so one's garbage is not collected on the other's clock.
  for (let r = 0; r < ROUNDS; r++) ours.push(timeMs(() => scrubber.text(text)));
  for (let r = 0; r < ROUNDS; r++) base.push(timeMs(() => naive(text)));
  return {
    secrets: count,
    scrubberMBps: mbps(text.length, median(ours)),
    baselineMBps: mbps(text.length, median(base)),
    buildMs,
  };
}

function benchInspect(): ScrubBenchReport['inspect'] {
  const bytes = 100 * 1024;
  const body = corpus([]).slice(0, bytes);
  const result: CallToolResult = { content: [{ type: 'text', text: body }] };
  for (let i = 0; i < 20; i++) inspectToolResult(result, { maxBytes: 64 * 1024 });
  const samples: number[] = [];
  for (let i = 0; i < 200; i++)
    samples.push(timeMs(() => inspectToolResult(result, { maxBytes: 64 * 1024 })));
  return { bytes, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

/** Run tokens are minted about once a second: the cost of registering one with 1,000 secrets known. */
function benchAddSecrets(): ScrubBenchReport['addSecrets'] {
  const scrubber = createScrubber({ secrets: secretsOf(1000) });
  const samples: number[] = [];
  for (let i = 0; i < 500; i++) samples.push(timeMs(() => scrubber.addSecrets(secretsOf(1))));
  return {
    baseSecrets: 1000,
    additions: samples.length,
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
    maxMs: Math.max(...samples),
  };
}

/**
 * Worst cases by construction: 100 KB of one rule anchor (or PII shape) repeated, so every few
 * characters start a candidate that reads its whole bounded window and then fails. Linear, but
 * with the largest constant an attacker can choose.
 */
function benchAdversarial(against?: CreateScrubber): ScrubBenchReport['adversarial'] {
  const units: Record<string, string> = {
    'token= repeated': 'token=',
    'sk- repeated': 'sk-',
    'eyJa repeated': 'eyJa',
    '-----BEGIN PRIVATE KEY----- repeated': '-----BEGIN PRIVATE KEY-----',
    'card-like digit groups': '4242 4242 4242 424',
    'a.b@c emails (email: redact)': 'a.b@c',
  };
  const options = { pii: { email: 'redact' as const, phone: 'redact' as const } };
  const scrubber = createScrubber(options);
  const other = against?.(options);
  const texts = Object.entries(units).map(
    ([input, unit]) => [input, unit.repeat(Math.ceil(102400 / unit.length)).slice(0, 102400)] as const,
  );
  // Warmed as the 1 MiB rows are: after one pass, 7 samples read 10 MB/s where a warm scrubber
  // does 35 (`sk-`), the JIT still compiling what the later passes run. Every row before any is
  // measured: warmed row by row, a second build read 0.4–2.4× the first on rows it had not met.
  for (let pass = 0; pass < 3; pass++) {
    for (const [, text] of texts) {
      for (let i = 0; i < 10; i++) {
        scrubber.text(text);
        other?.text(text);
      }
    }
  }
  return texts.map(([input, text]) => {
    const ours: number[] = [];
    const theirs: number[] = [];
    // With another build, calls alternate (and which goes first), so noise hits both alike.
    for (let r = 0; r < 15; r++) {
      if (other && r % 2 === 1) theirs.push(timeMs(() => other.text(text)));
      ours.push(timeMs(() => scrubber.text(text)));
      if (other && r % 2 === 0) theirs.push(timeMs(() => other.text(text)));
    }
    const MBps = mbps(text.length, median(ours));
    if (!other) return { input, MBps };
    const againstMBps = mbps(text.length, median(theirs));
    return { input, MBps, against: { MBps: againstMBps, ratio: MBps / againstMBps } };
  });
}

/** A row's target (CPU MB/s) and how it reads: streamed rows are held against the streamed baseline. */
function boundOf(row: ThroughputRow, rows: readonly ThroughputRow[]): { bound: number; what: string } {
  if (row.kind === 'ordinary') return { bound: ORDINARY_TARGET, what: `${ORDINARY_TARGET}` };
  if (row.kind === 'hostile') return { bound: HOSTILE_TARGET, what: `${HOSTILE_TARGET}` };
  const baseline = rows.find((r) => r.input === STREAMED_BASELINE)?.cpuMBps ?? 0;
  if (row.input === STREAMED_BASELINE) return { bound: 0, what: 'the baseline' };
  return { bound: baseline / 2, what: `half the baseline's, ${(baseline / 2).toFixed(1)}` };
}

export function targets(report: ScrubBenchReport): Target[] {
  const out = report.throughput
    .filter((row) => row.input !== STREAMED_BASELINE)
    .map((row) => {
      const { bound, what } = boundOf(row, report.throughput);
      const target =
        row.kind === 'streamed'
          ? `half of ${STREAMED_BASELINE}'s (linear: no rescan of what is held)`
          : `${bound} MB/s`;
      const unit = row.kind === 'streamed' ? ` MB/s (target ${what})` : ' MB/s';
      return targetOn(`scrub ${row.input} ≥ ${target} (CPU)`, row.cpuMBps, unit, (v) => v >= bound);
    });
  // The worst constants an attacker can pick are hostile input too (issue 15 point 4: the worst
  // case at ≥ 50 MB/s); measured on the wall clock, 100 KB at a time.
  for (const row of report.adversarial) {
    out.push(
      targetOn(
        `scrub adversarial 100 KB, ${row.input} ≥ ${HOSTILE_TARGET} MB/s (wall)`,
        row.MBps,
        ' MB/s',
        (v) => v >= HOSTILE_TARGET,
      ),
    );
  }
  out.push(
    targetOn(
      `scrub addSecrets p99 onto 1,000 configured ≤ ${ADD_P99_TARGET_MS} ms`,
      report.addSecrets.p99Ms,
      ' ms',
      (v) => v <= ADD_P99_TARGET_MS,
    ),
  );
  return out;
}

/** The scrubber every section measures: the sources, or the compiled tree (run()). */
let createScrubber = createFromSource;

/** `createScrubber` of the `src/scrub` folder `dir`: compiled (`index.js`) or sources (`index.ts`). */
async function scrubberFrom(dir: string): Promise<{ createScrubber: CreateScrubber }> {
  const file = existsSync(`${dir}/index.js`) ? `${dir}/index.js` : `${dir}/index.ts`;
  return (await import(pathToFileURL(file).href)) as { createScrubber: CreateScrubber };
}

/**
 * `BENCH_SCRUB_AGAINST=DIR`: a `src/scrub` folder of another build (e.g. main's at some commit,
 * `git archive <ref> src/scrub | tar -x -C /tmp/ref`), measured in the same interleaved rounds.
 * `BENCH_SCRUB_ONLY=throughput`: only the throughput targets (a quick A/B); `=adversarial`: only
 * the 100 KB adversarial rows (with BENCH_SCRUB_AGAINST, calls of the two builds alternating).
 */
export async function run(): Promise<ScrubBenchReport> {
  const againstDir = process.env.BENCH_SCRUB_AGAINST;
  const against = againstDir ? (await scrubberFrom(againstDir)).createScrubber : undefined;
  // Compiled, as installed, when `npm run bench` built the tree (bench/run.ts): tsx wraps each
  // closure in a naming helper, which made the LLM bench's short scrubs dearer. (For these 1 MiB
  // rows the two measured alike, compiled / tsx 0.90–1.12 in one run.)
  const built = process.env.BENCH_GATEWAY_FROM;
  if (built)
    createScrubber = (await scrubberFrom(`${built}/scrub`)).createScrubber as typeof createFromSource;
  const measured = built ? `compiled ${built}/scrub` : 'sources (tsx)';
  const only = process.env.BENCH_SCRUB_ONLY;
  const loadBefore = loadavg();
  const throughput = only === 'adversarial' ? [] : benchThroughput(createScrubber, against);
  const throughputLoad: [number[], number[]] = [loadBefore, loadavg()];
  if (only === 'throughput' || only === 'adversarial') {
    return {
      rules: BUILTIN_RULES.length,
      rows: [],
      inspect: { bytes: 0, p50Ms: Number.NaN, p99Ms: Number.NaN },
      addSecrets: {
        baseSecrets: 1000,
        additions: 0,
        p50Ms: Number.NaN,
        p99Ms: Number.NaN,
        meanMs: Number.NaN,
        maxMs: Number.NaN,
      },
      adversarial: only === 'adversarial' ? benchAdversarial(against) : [],
      throughput,
      measured,
      ...(againstDir ? { against: againstDir } : {}),
      throughputLoad,
      loadavg: loadavg(),
    };
  }
  benchScrub(10); // warm-up for the whole process, so the first row is not measuring the JIT
  const rows = [1, 100, 1000].map(benchScrub);
  return {
    rules: BUILTIN_RULES.length,
    rows,
    inspect: benchInspect(),
    addSecrets: benchAddSecrets(),
    adversarial: benchAdversarial(against),
    throughput,
    measured,
    ...(againstDir ? { against: againstDir } : {}),
    throughputLoad,
    loadavg: loadavg(),
  };
}

export function print(report: ScrubBenchReport): void {
  if (report.rows.length > 0) printRest(report);
  if (report.adversarial.length > 0) printAdversarial(report);
  if (report.throughput.length > 0) printThroughput(report);
}

function printAdversarial(report: ScrubBenchReport): void {
  console.log(
    '\nadversarial 100 KB inputs (worst constant an attacker can pick; still linear), wall MB/s, median of 15:',
  );
  const other = report.against;
  console.log(
    other
      ? `| input | MB/s | against ${other} | ratio |\n|---|---:|---:|---:|`
      : '| input | MB/s |\n|---|---:|',
  );
  for (const row of report.adversarial) {
    const against = row.against ? ` ${row.against.MBps.toFixed(1)} | ${row.against.ratio.toFixed(2)}× |` : '';
    console.log(`| ${row.input} | ${row.MBps.toFixed(1)} |${against}`);
  }
}

function printRest(report: ScrubBenchReport): void {
  console.log(`scrubber vs naive one-regex-per-secret, 1 MiB text, median of ${ROUNDS} rounds`);
  console.log(
    `scrubber: ${report.rules} credential rules + default PII (card, iban, national_id) + known secrets`,
  );
  console.log('| known secrets | scrubber MB/s | naive MB/s | scrubber build ms |');
  console.log('|---:|---:|---:|---:|');
  for (const row of report.rows) {
    console.log(
      `| ${row.secrets} | ${row.scrubberMBps.toFixed(1)} | ${row.baselineMBps.toFixed(1)} | ${row.buildMs.toFixed(1)} |`,
    );
  }
  const i = report.inspect;
  console.log(
    `\ninspection of a ${i.bytes / 1024} KB tool result (200 runs): p50 ${i.p50Ms.toFixed(2)} ms, p99 ${i.p99Ms.toFixed(2)} ms`,
  );
  const a = report.addSecrets;
  console.log(
    `addSecrets, one at a time onto ${a.baseSecrets} known (${a.additions} additions): p50 ${a.p50Ms.toFixed(2)} ms, p99 ${a.p99Ms.toFixed(2)} ms, mean ${a.meanMs.toFixed(2)} ms, max ${a.maxMs.toFixed(0)} ms`,
  );
  const met = a.p99Ms <= ADD_P99_TARGET_MS ? 'met' : 'NOT met';
  console.log(`addSecrets p99 ≤ ${ADD_P99_TARGET_MS} ms: ${met}`);
}

function printThroughput(report: ScrubBenchReport): void {
  const load = (l: readonly number[]) => l.map((v) => v.toFixed(1)).join(' ');
  const [before, after] = report.throughputLoad ?? [report.loadavg, report.loadavg];
  console.log(
    `\n1 MiB inputs, default scrubber (${report.measured ?? 'sources (tsx)'}): CPU MB/s, median of ${REPETITIONS} interleaved rounds (lowest–highest round); load average ${load(before)} before, ${load(after)} after:`,
  );
  const other = report.against;
  console.log(
    other
      ? `| input | CPU MB/s | against ${other} | ratio | wall MB/s | target (CPU) |\n|---|---:|---:|---:|---:|---|`
      : '| input | CPU MB/s | wall MB/s | target (CPU) |\n|---|---:|---:|---|',
  );
  const cell = (median: number, low: number, high: number) =>
    `${median.toFixed(1)} (${low.toFixed(1)}–${high.toFixed(1)})`;
  for (const row of report.throughput) {
    const { bound, what } = boundOf(row, report.throughput);
    const met = row.cpuMBps >= bound ? 'met' : 'NOT met';
    const ours = cell(row.cpuMBps, row.lowMBps, row.highMBps);
    const theirs = row.against
      ? ` ${cell(row.against.cpuMBps, row.against.lowMBps, row.against.highMBps)} | ${row.against.ratio.toFixed(2)}× |`
      : '';
    const verdict = row.input === STREAMED_BASELINE ? 'the streamed rows’ baseline' : `≥ ${what}: ${met}`;
    console.log(`| ${row.input} | ${ours} |${theirs} ${row.wallMBps.toFixed(1)} | ${verdict} |`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) print(await run());
