/**
 * `npm run bench`: runs every bench/*.bench.ts that exports `run()`, one after
 * another (they measure time, so never two at once), printing each one's
 * table, each in a process of its own (runChild). A failing bench is reported and the others still run; the exit code
 * says whether any failed. Each result is written as JSON to
 * bench/results/NAME.json, with when and where it was measured.
 *
 *   npm run bench                 every bench
 *   npm run bench -- gateway llm  only those whose file name starts with one of these
 *
 * The gateways under bench run compiled, as `bulkhead gateway` runs when installed: the tree is
 * built once first (tsc into dist/) and every bench's gateway child is pointed at it
 * (BENCH_GATEWAY_FROM), unless it is already set or BENCH_FROM_SOURCE=1 asks for the sources
 * through tsx (whose per-closure name helpers cost about 5% of the gateway's CPU per call).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildWorkingTree } from './lib/build-ref.js';
import { formatTable } from './lib/stats.js';
import { floorLabel, metLabel, type Target } from './lib/targets.js';

interface BenchModule {
  run?: () => unknown;
  /** Returns its table, or writes it itself and returns nothing. */
  print?: (result: never) => unknown;
  /** Its targets next to what this result measured, for the summary at the end. */
  targets?: (result: never) => Target[];
}

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no bench matches ${only.join(', ')}\n`);
  process.exit(2);
}

const out = (line: string) => process.stdout.write(`${line}\n`);
/** A hung bench is reported as failed and the rest still run. */
const LIMIT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 900) * 1000;

mkdirSync(join(here, 'results'), { recursive: true });

/**
 * One bench, in this process: runs it, prints its table, writes bench/results/NAME.json (with its
 * targets, which the parent reads back). Throws when it fails.
 */
async function runOne(file: string): Promise<'ran' | 'skipped'> {
  const name = file.replace(/\.bench\.ts$/, '');
  const started = Date.now();
  // A bench that leaves a promise rejected behind (a client call timing out after it failed)
  // must not take the run down: it is reported, and the bench fails by its own await.
  process.on('unhandledRejection', (reason) => {
    out(`(unhandled rejection, ignored: ${reason instanceof Error ? reason.message : String(reason)})`);
  });
  const mod = (await import(pathToFileURL(join(here, file)).href)) as BenchModule;
  if (typeof mod.run !== 'function') {
    out('(no run() export; skipped)');
    return 'skipped';
  }
  const result = await Promise.resolve(mod.run());
  const targets = mod.targets?.(result as never) ?? [];
  const printed = mod.print ? mod.print(result as never) : JSON.stringify(result, null, 2);
  if (typeof printed === 'string') out(printed);
  writeFileSync(
    join(here, 'results', `${name}.json`),
    `${JSON.stringify(
      {
        bench: file,
        at: new Date().toISOString(),
        seconds: (Date.now() - started) / 1000,
        // Context for reading the figures later: these machines are small and shared.
        machine: {
          cpus: cpus().length,
          model: cpus()[0]?.model ?? '?',
          loadavg: loadavg(),
          node: process.version,
        },
        result,
        targets,
      },
      null,
      2,
    )}\n`,
  );
  return 'ran';
}

/**
 * Each bench runs in a process of its own: its figures do not depend on which benches ran
 * before it (their heap, compiled code and leftover handles: the scrub rows measured 10–40%
 * slower after the gateway and neighbours benches in one process), and one that hangs is
 * killed at the limit instead of running on beside the next.
 */
function runChild(file: string): Promise<'ok' | 'FAILED' | 'skipped'> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ONE, file], {
      stdio: 'inherit',
    });
    const timer = setTimeout(() => {
      out(`(${file} took longer than ${LIMIT_MS / 1000} s: killed)`);
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? 'ok' : code === SKIPPED ? 'skipped' : 'FAILED');
    });
  });
}

const ONE = '--one';
const SKIPPED = 3;
if (process.argv[2] === ONE) {
  const file = process.argv[3]!;
  try {
    process.exit((await runOne(file)) === 'skipped' ? SKIPPED : 0);
  } catch (error) {
    out(`-- ${file}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
}

if (process.env.BENCH_GATEWAY_FROM === undefined && process.env.BENCH_FROM_SOURCE !== '1') {
  out('building the tree (tsc) so the gateways run compiled, as installed …');
  process.env.BENCH_GATEWAY_FROM = await buildWorkingTree(join(here, '..'));
}

const outcomes: [string, string, number][] = [];
const allTargets: (Target & { bench: string })[] = [];
const allStarted = Date.now();
const loadAtStart = loadavg();
out(`${files.length} bench(es): ${files.join(', ')}`);
for (const [index, file] of files.entries()) {
  const name = file.replace(/\.bench\.ts$/, '');
  out(`\n== [${index + 1}/${files.length}] ${file} (started ${new Date().toISOString()})`);
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const resultFile = join(here, 'results', `${name}.json`);
  rmSync(resultFile, { force: true });
  const status = await runChild(file);
  if (status === 'ok') {
    const saved = JSON.parse(readFileSync(resultFile, 'utf8')) as { targets?: Target[] };
    for (const t of saved.targets ?? []) allTargets.push({ bench: name, ...t });
    out(`-- ${file}: ok in ${seconds().toFixed(1)} s, results in bench/results/${name}.json`);
  } else if (status !== 'skipped') {
    out(`-- ${file}: FAILED after ${seconds().toFixed(1)} s`);
  }
  outcomes.push([file, status, seconds()]);
}

out(`\n== summary (${((Date.now() - allStarted) / 1000).toFixed(0)} s)`);
out(formatTable([['bench', 'status', 'seconds'], ...outcomes]));
if (allTargets.length > 0) {
  const met = allTargets.filter((t) => t.met === true).length;
  const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(' ');
  // Of the targets not met, those whose floor (the same measure for a contender doing less: a bare
  // hop, a relay with no checks, no gateway) misses them too: set below what the path costs here.
  const unmet = allTargets.filter((t) => t.met === false);
  const belowFloor = unmet.filter((t) => t.floor && !t.floor.met).length;
  const header = `targets: ${met} of ${allTargets.length} met (of the ${unmet.length} not met, ${belowFloor} are missed by their floor contender too); load average ${load(loadAtStart)} at the start, ${load(loadavg())} at the end, ${cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString()}`;
  out(`\n${header}`);
  out(
    formatTable([
      ['bench', 'target', 'measured', '', 'floor (the same measure, doing less)'],
      ...allTargets.map((t) => [t.bench, t.target, t.measured, metLabel(t.met), floorLabel(t.floor)]),
    ]),
  );
  // The same as a Markdown table, ready for bench/README.md.
  const md = [
    header,
    '',
    '| bench | target | measured | | floor (the same measure, doing less) |',
    '|---|---|---:|---|---|',
    ...allTargets.map(
      (t) =>
        `| ${t.bench} | ${t.target} | ${t.measured} | ${t.met === false ? '**NOT met**' : metLabel(t.met)} | ${floorLabel(t.floor)} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(join(here, 'results', 'targets.md'), md);
  out('(also in bench/results/targets.md)');
}
const failed = outcomes.filter(([, status]) => status === 'FAILED').map(([file]) => file);
if (failed.length > 0) {
  out(`\n${failed.length} bench(es) failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
// A bench that leaves a timer or socket behind must not keep `npm run bench` alive.
setTimeout(() => process.exit(), 1_000).unref();
