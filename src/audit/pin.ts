/**
 * Tool pins: a lock file with a SHA-256 of each exposed tool's name,
 * description, input schema and annotations, as the upstream lists them.
 * The gateway compares every (re)listing against it: a changed definition
 * (a "rug pull": the server swaps a description after it was reviewed) is
 * not served until it is pinned again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { BulkheadError } from '../errors.js';
import { canonicalHash } from '../util/canonical.js';

export interface PinLock {
  version: 1;
  pinned_at: string;
  /** upstream → tool name → hash */
  tools: Record<string, Record<string, string>>;
}

export function toolHash(tool: Tool): string {
  return canonicalHash({
    name: tool.name,
    description: tool.description ?? null,
    inputSchema: tool.inputSchema,
    annotations: tool.annotations ?? null,
  });
}

export interface PinDiff {
  changed: string[];
  added: string[];
  removed: string[];
}

export function diffPins(pinned: Record<string, string> | undefined, tools: readonly Tool[]): PinDiff {
  const now = new Map(tools.map((t) => [t.name, toolHash(t)]));
  const before = pinned ?? {};
  return {
    changed: [...now]
      .filter(([name, hash]) => before[name] !== undefined && before[name] !== hash)
      .map(([name]) => name),
    added: [...now.keys()].filter((name) => before[name] === undefined),
    removed: Object.keys(before).filter((name) => !now.has(name)),
  };
}

export function lockPathFor(policyFile: string): string {
  return policyFile.replace(/\.ya?ml$/i, '') + '.lock.json';
}

export function readLock(path: string): PinLock | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const lock = JSON.parse(text) as PinLock;
    if (lock.version !== 1 || typeof lock.tools !== 'object') throw new Error('unknown format');
    return lock;
  } catch (error) {
    throw new BulkheadError(
      'policy_invalid',
      `${path}: not a bulkhead pin lock (${(error as Error).message})`,
    );
  }
}

export function writeLock(
  path: string,
  tools: Record<string, readonly Tool[]>,
  only?: (upstream: string, tool: string) => boolean,
): PinLock {
  const lock: PinLock = { version: 1, pinned_at: new Date().toISOString(), tools: {} };
  for (const [upstream, list] of Object.entries(tools)) {
    lock.tools[upstream] = Object.fromEntries(
      list.filter((t) => !only || only(upstream, t.name)).map((t) => [t.name, toolHash(t)]),
    );
  }
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  return lock;
}
