/**
 * Scrubber throughput vs a naive one-regex-per-secret baseline, and the added
 * latency of tool-output inspection. Run: `npx tsx bench/scrub.bench.ts`.
 *
 * Same 1 MiB text for both: log lines, JSON and prose with a few planted
 * secrets and credential-shaped tokens. The scrubber runs with the full rule
 * set and default PII actions; the baseline matches only the known secrets
 * (raw form), one global regex each, so it does strictly less work.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { inspectToolResult } from '../src/inspect/index.js';
import { BUILTIN_RULES, createScrubber, type Scrubber } from '../src/scrub/index.js';
import { type Target, targetOn } from './lib/targets.js';

const MIB = 1 << 20;
const ROUNDS = 9;
const THROUGHPUT_ROUNDS = 15;

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
  adversarial: { input: string; MBps: number }[];
  /** 1 MiB inputs, default scrubber: wall-clock median and CPU time (the machine is shared). */
  throughput: { input: string; kind: 'ordinary' | 'hostile'; wallMBps: number; cpuMBps: number }[];
  loadavg: number[];
}

const ORDINARY_TARGET = 100;
const HOSTILE_TARGET = 50;
const ADD_P99_TARGET_MS = 50;

function secretsOf(count: number): string[] {
  return Array.from({ length: count }, () => randomBytes(18).toString('base64url'));
}

/** A flat 1 MiB string of mixed realistic content (joined, not repeated, so V8 stores it flat). */
export function corpus(secrets: readonly string[]): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < MIB; i++) {
    const id = randomBytes(6).toString('hex');
    const line =
      i % 5 === 0
        ? `{"ts":"2026-11-24T08:${String(i % 60).padStart(2, '0')}:00Z","level":"info","req":"${id}","path":"/api/v1/items/${i}","status":200,"ms":${i % 97}}`
        : i % 5 === 1
          ? `2026-11-24 08:00:${String(i % 60).padStart(2, '0')} INFO worker-${i % 8} fetched https://api.example.com/v2/orders?page=${i} in ${i % 300}ms`
          : i % 5 === 2
            ? `The agent summarised ticket #${i}: the customer reports that exports time out after the upgrade; token budget ok.`
            : i % 5 === 3
              ? `SELECT id, name, email FROM users WHERE org_id = ${i} AND created_at > now() - interval '7 days';`
              : `    at processItem (/srv/app/dist/worker.js:${i % 900}:17) request_id=${id} user=u${i}`;
    lines.push(line);
    size += line.length + 1;
  }
  // A few real leaks so the replacement path is exercised too.
  for (let k = 0; k < 8 && k < secrets.length; k++) {
    lines[(k + 1) * 997] = `debug: using credential ${secrets[k]} for upstream`;
  }
  lines[4242] = `GITHUB_TOKEN=ghp_${randomBytes(27).toString('base64').replace(/[+/=]/g, 'x').slice(0, 36)}`;
  return lines.join('\n').slice(0, MIB);
}

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
function benchAdversarial(): ScrubBenchReport['adversarial'] {
  const units: Record<string, string> = {
    'token= repeated': 'token=',
    'sk- repeated': 'sk-',
    'eyJa repeated': 'eyJa',
    '-----BEGIN PRIVATE KEY----- repeated': '-----BEGIN PRIVATE KEY-----',
    'card-like digit groups': '4242 4242 4242 424',
    'a.b@c emails (email: redact)': 'a.b@c',
  };
  const scrubber = createScrubber({ pii: { email: 'redact', phone: 'redact' } });
  return Object.entries(units).map(([input, unit]) => {
    const text = unit.repeat(Math.ceil(102400 / unit.length)).slice(0, 102400);
    scrubber.text(text);
    const samples = Array.from({ length: 7 }, () => timeMs(() => scrubber.text(text)));
    return { input, MBps: mbps(text.length, median(samples)) };
  });
}

/** A 1 MiB JSON tool result: file listings with hashes, base64 thumbnails and prose. */
export function jsonToolOutput(): string {
  const items = [];
  let size = 0;
  for (let i = 0; size < MIB; i++) {
    const item = {
      path: `/srv/repo/src/module-${i % 97}/file-${i}.ts`,
      sha: randomBytes(20).toString('hex'),
      size: (i * 7919) % 100_000,
      mode: '100644',
      thumb: randomBytes(24).toString('base64'),
      summary: 'exports a helper used by the build; last touched by the release job',
    };
    items.push(item);
    size += JSON.stringify(item).length + 1;
  }
  return JSON.stringify({ content: [{ type: 'text', text: JSON.stringify(items) }] }).slice(0, MIB);
}

/** MIME-wrapped base64 of ordinary text: every run is decoded and scanned again. */
export function mimeBase64Text(): string {
  const plain = corpus([]).slice(0, (MIB * 3) / 4);
  const lines =
    Buffer.from(plain)
      .toString('base64')
      .match(/.{1,76}/g) ?? [];
  // One part per 8 KiB of text, as a mailbox of messages would be.
  const parts: string[] = [];
  for (let k = 0; k < lines.length; k += 108) {
    parts.push(`--b\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines.slice(k, k + 108).join('\r\n')}`);
  }
  return parts.join('\r\n').slice(0, MIB);
}

function cpuMs(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/**
 * The targets: ≥ 100 MB/s on ordinary text and JSON tool output, ≥ 50 MB/s on inputs an attacker
 * shapes (one anchor repeated, anchors of many rules every few bytes, megabytes of base64). Both
 * wall-clock and CPU time are reported; the CPU figure is judged, since other jobs share the cores.
 */
export function benchThroughput(): ScrubBenchReport['throughput'] {
  const anchors = ['token=', 'sk-', 'ghp_', 'AKIA', 'pat', 'xoxb-', 'eyJ', 'password: ', '%41', 'Q~', '|'];
  // Per-tool credentials are configured secrets: a gateway with ten scans every text for their
  // ~4,000 forms as well (the prefix loop, aho-corasick.ts).
  const configured = createScrubber({ secrets: secretsOf(10) });
  const inputs: { input: string; kind: 'ordinary' | 'hostile'; text: string; scrubber?: Scrubber }[] = [
    { input: 'ordinary text (logs, prose, SQL)', kind: 'ordinary', text: corpus([]) },
    { input: 'JSON tool output (paths, hashes, base64)', kind: 'ordinary', text: jsonToolOutput() },
    {
      input: 'ordinary text, 10 configured secrets',
      kind: 'ordinary',
      text: corpus([]),
      scrubber: configured,
    },
    {
      input: 'JSON tool output, 10 configured secrets',
      kind: 'ordinary',
      text: jsonToolOutput(),
      scrubber: configured,
    },
    { input: 'MIME base64 of text (all decoded)', kind: 'ordinary', text: mimeBase64Text() },
    { input: '`token=` repeated', kind: 'hostile', text: 'token='.repeat(MIB / 6) },
    {
      input: 'anchors of many rules every few bytes',
      kind: 'hostile',
      text: Array.from({ length: MIB / 8 }, (_, i) => anchors[i % anchors.length])
        .join('')
        .slice(0, MIB),
    },
    {
      input: 'long base64 (one 1 MiB run)',
      kind: 'hostile',
      text: randomBytes((MIB * 3) / 4).toString('base64'),
    },
    {
      input: 'base64 lines of 76 (random bytes)',
      kind: 'hostile',
      text: (
        randomBytes((MIB * 3) / 4)
          .toString('base64')
          .match(/.{1,76}/g) ?? []
      )
        .join('\r\n')
        .slice(0, MIB),
    },
    { input: '`%41` repeated (one escaped run)', kind: 'hostile', text: '%41'.repeat(MIB / 3) },
  ];
  const plain = createScrubber();
  // As a tool result reaches the scrubber: a flat string from JSON.parse. (The generators'
  // `.slice`/`repeat` give sliced and cons strings, whose every charCodeAt costs an indirection
  // that no real input pays: about 15% of the scan on the ordinary text.)
  const flat = inputs.map((row) => ({ ...row, text: JSON.parse(JSON.stringify(row.text)) as string }));
  // Every input through every path before any is measured: warmed one by one, the first rows
  // ran before the code they share was fully compiled (JSON measured 20% slower than the same
  // text with configured secrets, measured after it).
  for (let w = 0; w < 3; w++) for (const { text, scrubber = plain } of flat) scrubber.text(text);
  return flat.map(({ input, kind, text, scrubber = plain }) => {
    const wall: number[] = [];
    const cpu: number[] = [];
    // Each pass is ~10 ms: a median of 15 leaves a collection or a neighbour's burst out of it.
    for (let r = 0; r < THROUGHPUT_ROUNDS; r++) {
      const start = process.hrtime.bigint();
      cpu.push(cpuMs(() => scrubber.text(text)));
      wall.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return {
      input,
      kind,
      wallMBps: mbps(text.length, median(wall)),
      cpuMBps: mbps(text.length, median(cpu)),
    };
  });
}

export function targets(report: ScrubBenchReport): Target[] {
  const out = report.throughput.map((row) =>
    row.kind === 'ordinary'
      ? targetOn(
          `scrub ${row.input} ≥ ${ORDINARY_TARGET} MB/s (CPU)`,
          row.cpuMBps,
          ' MB/s',
          (v) => v >= ORDINARY_TARGET,
        )
      : targetOn(
          `scrub ${row.input} ≥ ${HOSTILE_TARGET} MB/s (CPU)`,
          row.cpuMBps,
          ' MB/s',
          (v) => v >= HOSTILE_TARGET,
        ),
  );
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

export function run(): ScrubBenchReport {
  benchScrub(10); // warm-up for the whole process, so the first row is not measuring the JIT
  const rows = [1, 100, 1000].map(benchScrub);
  return {
    rules: BUILTIN_RULES.length,
    rows,
    inspect: benchInspect(),
    addSecrets: benchAddSecrets(),
    adversarial: benchAdversarial(),
    throughput: benchThroughput(),
    loadavg: loadavg(),
  };
}

export function print(report: ScrubBenchReport): void {
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
  console.log('\nadversarial 100 KB inputs (worst constant an attacker can pick; still linear):');
  console.log('| input | MB/s |');
  console.log('|---|---:|');
  for (const row of report.adversarial) console.log(`| ${row.input} | ${row.MBps.toFixed(1)} |`);
  console.log(
    `\n1 MiB inputs, default scrubber, median of ${THROUGHPUT_ROUNDS} (load average ${report.loadavg.map((l) => l.toFixed(1)).join(' ')}):`,
  );
  console.log('| input | wall MB/s | CPU MB/s | target (CPU) |');
  console.log('|---|---:|---:|---|');
  for (const row of report.throughput) {
    const bound = row.kind === 'ordinary' ? ORDINARY_TARGET : HOSTILE_TARGET;
    const met = row.cpuMBps >= bound ? 'met' : 'NOT met';
    console.log(
      `| ${row.input} | ${row.wallMBps.toFixed(1)} | ${row.cpuMBps.toFixed(1)} | ≥ ${bound}: ${met} |`,
    );
  }
  const met = a.p99Ms <= ADD_P99_TARGET_MS ? 'met' : 'NOT met';
  console.log(`addSecrets p99 ≤ ${ADD_P99_TARGET_MS} ms: ${met}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) print(run());
