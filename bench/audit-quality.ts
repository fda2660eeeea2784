/**
 * The audit's quality figure: precision and recall of the high-severity class
 * (raw worst case high or critical) on a labelled set of real servers' tools,
 * and how many of those honest definitions the poisoning scan flags.
 *
 *   npx tsx bench/audit-quality.ts
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { assessTool, rank } from '../src/audit/effective.js';
import { findPoisoning } from '../src/audit/poisoning.js';

interface Labelled {
  server: string;
  tool: Tool;
  high: boolean;
  reason: string;
}

export function run(): {
  n: number;
  precision: number;
  recall: number;
  falsePositives: string[];
  falseNegatives: string[];
  poisoningFalseAlarms: string[];
} {
  const file = join(dirname(fileURLToPath(import.meta.url)), '../test/audit/labelled-tools.json');
  const set = JSON.parse(readFileSync(file, 'utf8')) as Labelled[];
  let tp = 0;
  const falsePositives: string[] = [];
  const falseNegatives: string[] = [];
  const poisoningFalseAlarms: string[] = [];
  for (const item of set) {
    // Every definition in the set is honest: any poisoning finding is a false alarm.
    if (findPoisoning(item.tool).length > 0) poisoningFalseAlarms.push(`${item.server}.${item.tool.name}`);
    const predicted = rank(assessTool(item.server, item.tool).rawSeverity) >= rank('high');
    if (predicted && item.high) tp++;
    else if (predicted) falsePositives.push(`${item.server}.${item.tool.name}`);
    else if (item.high) falseNegatives.push(`${item.server}.${item.tool.name} (${item.reason})`);
  }
  return {
    n: set.length,
    precision: tp / (tp + falsePositives.length),
    recall: tp / (tp + falseNegatives.length),
    falsePositives,
    falseNegatives,
    poisoningFalseAlarms,
  };
}

export function print(r: ReturnType<typeof run>): string {
  return [
    `${r.n} labelled tools; high-severity class: precision ${r.precision.toFixed(2)}, recall ${r.recall.toFixed(2)}`,
    `false positives: ${r.falsePositives.join(', ') || 'none'}`,
    `false negatives: ${r.falseNegatives.join(', ') || 'none'}`,
    `poisoning false alarms on these honest definitions: ${r.poisoningFalseAlarms.length}${r.poisoningFalseAlarms.length ? ` (${r.poisoningFalseAlarms.join(', ')})` : ''}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(`${print(run())}\n`);
