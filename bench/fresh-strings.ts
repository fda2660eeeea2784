/**
 * What a large string costs here beyond its copy: one Latin-1 string of 768 KiB (V8 puts any
 * object over 128 KiB in its large-object space, on pages mapped for it and unmapped when it
 * dies, so every one is fresh memory) against the same bytes as twelve strings of 64 KiB (young
 * generation, whose pages are reused), interleaved rounds, wall time per 768 KiB and page faults
 * per 768 KiB (from /proc/self/stat). On this VM a page first touched costs ~10-20 µs, which
 * makes every fresh megabyte a few milliseconds whatever the code does with it: the decoded text
 * of a MIME scrub, a 1 MB tool result's decode, parse and stringify. A one-off (not run by
 * `npm run bench`).
 *
 *   npx tsx bench/fresh-strings.ts [--rounds 7] [--count 200]
 */
import { readFileSync } from 'node:fs';
import { median } from './lib/stats.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('--rounds', 7);
const count = arg('--count', 200);
const SIZE = 768 * 1024;
const PIECE = 64 * 1024;
const bytes = Buffer.alloc(SIZE, 'abcdefghij');

/** Minor page faults of this process so far (field 10 of /proc/self/stat). */
function faults(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

/** Makes `count` copies of the 768 KiB as `make` does; keeps the last few alive, as a scan would. */
function measure(make: () => string[]): [number, number] {
  const kept: string[][] = [];
  const f0 = faults();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    kept.push(make());
    if (kept.length > 3) kept.shift();
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / count;
  return [ms, (faults() - f0) / count];
}

const whole = () => [bytes.toString('latin1')];
const pieces = () => {
  const out: string[] = [];
  for (let at = 0; at < SIZE; at += PIECE) out.push(bytes.toString('latin1', at, at + PIECE));
  return out;
};

const rows: Record<string, { ms: number[]; faults: number[] }> = {
  'one string of 768 KiB': { ms: [], faults: [] },
  'twelve strings of 64 KiB': { ms: [], faults: [] },
};
for (let round = 0; round < rounds; round++) {
  const order: [string, () => string[]][] = [
    ['one string of 768 KiB', whole],
    ['twelve strings of 64 KiB', pieces],
  ];
  if (round % 2) order.reverse();
  for (const [name, make] of order) {
    const [ms, f] = measure(make);
    rows[name]?.ms.push(ms);
    rows[name]?.faults.push(f);
  }
}
for (const [name, r] of Object.entries(rows)) {
  console.log(
    `${name.padEnd(26)} ${median(r.ms).toFixed(3)} ms per 768 KiB, ${median(r.faults).toFixed(0)} page faults (median of ${rounds} rounds of ${count})`,
  );
}
