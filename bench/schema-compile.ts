/**
 * What compiling an upstream's input schema costs the event loop, by shape,
 * with ajv inlining references (its default, what the gateway used before)
 * and without (what it uses now), interleaved per round; and whether the
 * gateway's limits (src/gateway/schema-cost.ts) keep the tool out before
 * compiling. CPU ms of the compile alone, median of the rounds. The schema
 * compiled is the tightened one where the gateway serves the tool, else the
 * upstream's as sent (tightening refuses it first). A one-off (not run by
 * `npm run bench`); figures are in DESIGN.md.
 *
 *   npx tsx bench/schema-compile.ts --rounds 3
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { tightenSchema } from '../src/gateway/tighten.js';
import type { ToolRule } from '../src/policy/schema/index.js';
import { ajvRegExp } from '../src/util/linear-regexp.js';
import { chain, fan, names, nest, object, type Schema, wide } from '../test/helpers/schema-shapes.js';
import { formatTable, median } from './lib/stats.js';

const SHAPES: [string, Schema][] = [
  ['chain of 64 $refs', chain(64)],
  ['chain of 150 $refs', chain(150)],
  ['64 $refs to a 256-property definition', fan(64, 256)],
  ['100 $refs to a 100-property definition', fan(100, 100)],
  ['one object of 256 properties', object(names(256, () => ({ type: 'string' })))],
  ['one object of 1,000 properties', object(names(1000, () => ({ type: 'string' })))],
  ['one object of 2,000 properties', object(names(2000, () => ({ type: 'string' })))],
  ['3 objects of 256 properties (775 nodes)', wide(3, 256)],
  ['5 objects of 256 properties (1,291 nodes)', wide(5, 256)],
  ['nested 64 levels', nest(64)],
  ['enum of 10,000', object({ e: { enum: Array.from({ length: 10_000 }, (_, i) => `v${i}`) } })],
];

const RULE = { expose: true, class: 'read' } as unknown as ToolRule;

function ajv(inlineRefs: boolean): Ajv2020 {
  return new Ajv2020({ strict: false, allErrors: false, inlineRefs, code: { regExp: ajvRegExp } });
}

function cpuMs(fn: () => void): number | 'failed' {
  const start = process.cpuUsage();
  try {
    fn();
  } catch {
    return 'failed';
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;
ajv(false).compile(object({ a: { type: 'string' } }));
const rows: string[][] = [];
for (const [name, upstream] of SHAPES) {
  const tightened = tightenSchema(upstream as never, RULE);
  const schema = tightened.ok ? tightened.schema : upstream;
  const times: Record<'inline' | 'notInline', number[]> = { inline: [], notInline: [] };
  let failed = '';
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so drift hits both alike.
    const order: ('inline' | 'notInline')[] = r % 2 ? ['notInline', 'inline'] : ['inline', 'notInline'];
    for (const which of order) {
      const ms = cpuMs(() => ajv(which === 'inline').compile(structuredClone(schema)));
      if (ms === 'failed') failed = `${which} failed (stack)`;
      else times[which].push(ms);
    }
  }
  const med = (xs: number[]) => (xs.length ? median(xs).toFixed(0) : '—');
  rows.push([
    name,
    tightened.ok ? 'served' : `kept out (${tightened.code})`,
    med(times.inline),
    med(times.notInline),
    failed,
  ]);
}
console.log(
  `load ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(formatTable([['shape', 'gateway', 'inlined ms', 'not inlined ms', ''], ...rows]));
