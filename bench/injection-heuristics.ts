/**
 * The injection heuristics' search (`findInjection`, src/inspect/injection.ts) on 1 MiB texts:
 * the scrub bench's throughput texts (logs and prose, JSON tool output, MIME base64, a page of
 * keys, …) and hostile ones dense with the heuristics' lead words (`you you you …`), ms per MiB,
 * median of the rounds. With `--against DIR` (the `dist/src/inspect` folder of another build),
 * that build's `findInjection` runs on the same texts, calls alternating, and the ratio is
 * printed; both must report the same hits. A one-off (not run by `npm run bench`).
 *
 *   npm run build
 *   npx tsx bench/injection-heuristics.ts [--rounds 21] [--against <other>/dist/src/inspect]
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from './lib/stats.js';
import { throughputInputs } from './scrub-throughput.js';

type Find = (text: string) => { heuristic: string; at: number }[];

const MIB = 1 << 20;
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const rounds = Number(arg('--rounds') ?? 21);
const againstDir = arg('--against');

async function findIn(dir: string): Promise<Find> {
  const module = (await import(pathToFileURL(join(resolve(dir), 'injection.js')).href)) as {
    findInjection: Find;
  };
  return module.findInjection;
}

function timeMs(find: Find, text: string): number {
  const t0 = process.hrtime.bigint();
  find(text);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const ours = await findIn(resolve('dist/src/inspect'));
const theirs = againstDir ? await findIn(againstDir) : undefined;
const hostile = ['you ', 'do ', 'ai ', 'call ', "don't ", 'send all ', 'ignore all the ', 'a '].map(
  (unit) => ({
    input: `${JSON.stringify(unit)} repeated (lead words)`,
    text: unit.repeat(Math.ceil(MIB / unit.length)).slice(0, MIB),
  }),
);
const texts = [
  ...throughputInputs()
    .filter((row) => !row.chunk && !row.configured && !row.before)
    .map((row) => ({ input: row.input, text: row.text })),
  ...hostile,
];
console.log(
  `findInjection, ms per MiB, median of ${rounds} rounds${againstDir ? `; against ${againstDir}` : ''}`,
);
console.log(`| text | this build |${theirs ? ' other build | ratio (other ÷ this) |' : ''}`);
console.log(`|---|---:|${theirs ? '---:|---:|' : ''}`);
for (const { input, text } of texts) {
  if (theirs && JSON.stringify(ours(text)) !== JSON.stringify(theirs(text)))
    throw new Error(`the two builds report different hits on ${input}`);
  for (let w = 0; w < 3; w++) {
    ours(text);
    theirs?.(text);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Which build goes first alternates, so neither always runs after the other's garbage.
    if (theirs && r % 2 === 1) b.push(timeMs(theirs, text));
    a.push(timeMs(ours, text));
    if (theirs && r % 2 === 0) b.push(timeMs(theirs, text));
  }
  const mib = text.length / MIB;
  const mine = median(a) / mib;
  const other = theirs ? median(b) / mib : undefined;
  console.log(
    `| ${input} | ${mine.toFixed(2)} |${other !== undefined ? ` ${other.toFixed(2)} | ${(other / mine).toFixed(2)}× |` : ''}`,
  );
}
