/**
 * `npm run bench`: runs every bench/*.bench.ts that exports `run()`, one after
 * another (they measure time, so never two at once), printing each one's
 * table. A failing bench is reported and the others still run; the exit code
 * says whether any failed. Each result is written as JSON to
 * bench/results/NAME.json, with when and where it was measured.
 *
 *   npm run bench                 every bench
 *   npm run bench -- gateway llm  only those whose file name starts with one of these
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatTable } from './lib/stats.js';
import { metLabel, type Target } from './lib/targets.js';

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

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
mkdirSync(join(here, 'results'), { recursive: true });
// A bench that leaves a promise rejected behind (a client call timing out after it failed) must
// not take the whole run down: it is reported, and the bench it belongs to fails by its own await.
process.on('unhandledRejection', (reason) => {
  out(`(unhandled rejection, ignored: ${reason instanceof Error ? reason.message : String(reason)})`);
});
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
  try {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as BenchModule;
    if (typeof mod.run !== 'function') {
      out('(no run() export; skipped)');
      outcomes.push([file, 'skipped', 0]);
      continue;
    }
    const result = await withTimeout(Promise.resolve(mod.run()), LIMIT_MS, file);
    const targets = mod.targets?.(result as never) ?? [];
    for (const t of targets) allTargets.push({ bench: name, ...t });
    const printed = mod.print ? mod.print(result as never) : JSON.stringify(result, null, 2);
    if (typeof printed === 'string') out(printed);
    writeFileSync(
      join(here, 'results', `${name}.json`),
      `${JSON.stringify(
        {
          bench: file,
          at: new Date().toISOString(),
          seconds: seconds(),
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
    out(`-- ${file}: ok in ${seconds().toFixed(1)} s, results in bench/results/${name}.json`);
    outcomes.push([file, 'ok', seconds()]);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    out(`-- ${file}: FAILED after ${seconds().toFixed(1)} s: ${message}`);
    outcomes.push([file, 'FAILED', seconds()]);
  }
}

out(`\n== summary (${((Date.now() - allStarted) / 1000).toFixed(0)} s)`);
out(formatTable([['bench', 'status', 'seconds'], ...outcomes]));
if (allTargets.length > 0) {
  const met = allTargets.filter((t) => t.met === true).length;
  const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(' ');
  const header = `targets: ${met} of ${allTargets.length} met; load average ${load(loadAtStart)} at the start, ${load(loadavg())} at the end, ${cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString()}`;
  out(`\n${header}`);
  out(
    formatTable([
      ['bench', 'target', 'measured', ''],
      ...allTargets.map((t) => [t.bench, t.target, t.measured, metLabel(t.met)]),
    ]),
  );
  // The same as a Markdown table, ready for bench/README.md.
  const md = [
    header,
    '',
    '| bench | target | measured | |',
    '|---|---|---:|---|',
    ...allTargets.map(
      (t) =>
        `| ${t.bench} | ${t.target} | ${t.measured} | ${t.met === false ? '**NOT met**' : metLabel(t.met)} |`,
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
