/**
 * `npm run bench`: runs every bench/*.bench.ts that exports `run()`, one after
 * another, printing each one's table; a failing bench is reported and the
 * others still run. Results are also written as JSON to bench/results/.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

mkdirSync(join(here, 'results'), { recursive: true });
const failed: string[] = [];
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  const started = Date.now();
  try {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as {
      run?: () => unknown;
      print?: (result: never) => string | undefined;
    };
    if (!mod.run) {
      process.stdout.write('(no run() export; skipped)\n');
      continue;
    }
    const result = await mod.run();
    // A bench's print() may return its table or write it itself.
    const printed = mod.print ? mod.print(result as never) : JSON.stringify(result, null, 2);
    if (typeof printed === 'string') process.stdout.write(`${printed}\n`);
    writeFileSync(
      join(here, 'results', `${file.replace('.bench.ts', '')}.json`),
      JSON.stringify(result, null, 2),
    );
    process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  } catch (error) {
    failed.push(file);
    process.stdout.write(`FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
if (failed.length > 0) {
  process.stdout.write(`\n${failed.length} bench(es) failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
