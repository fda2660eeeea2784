/**
 * The part of a policy file `bulkhead run` needs (the profiles' sandbox and
 * egress, the store's path, whether an LLM is configured), remembered between
 * runs. Loading the policy parser (zod, the schema, yaml, re2js) and
 * validating was half of `bulkhead run`'s start-up, paid again by every
 * jailed agent for a file that rarely changes.
 *
 * The cache is only used from the build (dist/bundle/run.cjs): its entry
 * holds the build's id and the policy's full text, and is used only when
 * both are exactly those of this run, so an edited policy or a new build
 * parses again, and a policy the schema refuses is never cached. It lives in
 * the gateway home (~/.bulkhead/cache, 0700/0600, owner checked), which
 * every jail refuses as a workdir: a jailed agent can neither read it nor
 * write it back through the merge.
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BulkheadError, type ErrorCode } from '../errors.js';
import { bulkheadHome } from '../gateway/local-home.js';
import type { Profile } from '../policy/schema/index.js';

export interface RunPolicy {
  /** Absolute path of the policy file. */
  file: string;
  /** Relative paths in the policy resolve against this. */
  dir: string;
  /** The SQLite store's path as written (relative to `dir`), when the store is SQLite. */
  sqlite: string | undefined;
  /** Whether the policy configures the LLM proxy. */
  llm: boolean;
  profiles: Record<string, Pick<Profile, 'sandbox' | 'egress'>>;
}

interface CacheEntry {
  build: string;
  file: string;
  text: string;
  policy: RunPolicy;
}

// Replaced by scripts/bundle-cli.mjs with an id of that build; undeclared (no cache) from the sources,
// where an edited schema would otherwise be served stale answers.
declare const __BULKHEAD_BUILD_ID__: string;
const BUILD_ID = typeof __BULKHEAD_BUILD_ID__ === 'string' ? __BULKHEAD_BUILD_ID__ : undefined;

export interface RunPolicyOptions {
  /** The build's id; without one nothing is cached. Defaults to the bundle's. */
  build?: string | undefined;
  /** Defaults to the gateway home's `cache` folder. */
  cacheDir?: string;
}

export async function loadRunPolicy(file: string, options: RunPolicyOptions = {}): Promise<RunPolicy> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new BulkheadError('policy_unreadable', `${file}: cannot read the policy file`, { cause: error });
  }
  const build = 'build' in options ? options.build : BUILD_ID;
  const cache = build
    ? join(options.cacheDir ?? join(bulkheadHome(), 'cache'), cacheName(absolute, build))
    : undefined;
  const hit = cache && build ? readEntry(cache, build, absolute, text) : undefined;
  if (hit) return hit;
  // Loaded only on a miss (the build keeps it in a file of its own).
  const { parsePolicy } = await import('./run-policy-parser.js');
  let policy: ReturnType<typeof parsePolicy>;
  try {
    policy = parsePolicy(text, file);
  } catch (error) {
    throw asOwnError(error);
  }
  const view: RunPolicy = {
    file: absolute,
    dir: dirname(absolute),
    sqlite: 'sqlite' in policy.store ? policy.store.sqlite : undefined,
    llm: policy.llm !== undefined,
    profiles: Object.fromEntries(
      Object.entries(policy.profiles).map(([name, p]) => [name, { sandbox: p.sandbox, egress: p.egress }]),
    ),
  };
  // What a later hit returns, so a hit and a miss hand the run exactly the same values.
  const plain = JSON.parse(JSON.stringify(view)) as RunPolicy;
  if (cache && build) writeEntry(cache, { build, file: absolute, text, policy: plain });
  return plain;
}

/**
 * One file per policy path and build (FNV-1a of each: a collision only means a miss, the entry names
 * both). Per build, not per path alone: two installs (or a build and the one it is benchmarked
 * against) running one policy in turn each overwrote the other's entry, so every run parsed again.
 */
function cacheName(path: string, build: string): string {
  return `${PREFIX}${fnv(path)}-${fnv(build)}.json`;
}

const PREFIX = 'run-policy-';
/** Entries of other builds untouched for this long are removed when an entry is written. */
export const STALE_MS = 7 * 24 * 3600_000;

function fnv(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** Old builds' entries (each build has its own) do not pile up: removed on a miss, once stale. */
function pruneStale(dir: string, keep: string, now: number): void {
  try {
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(PREFIX) || !name.endsWith('.json') || name === keep) continue;
      const path = join(dir, name);
      if (now - statSync(path).mtimeMs > STALE_MS) unlinkSync(path);
    }
  } catch {
    // Pruning is housekeeping: a file gone meanwhile, or one we may not remove, changes nothing.
  }
}

function readEntry(path: string, build: string, file: string, text: string): RunPolicy | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    // Only an entry this user wrote and nobody else may change.
    if (stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return undefined;
    const entry = JSON.parse(readFileSync(fd, 'utf8')) as Partial<CacheEntry>;
    return entry.build === build && entry.file === file && entry.text === text ? entry.policy : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeEntry(path: string, entry: CacheEntry): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temp, path);
  } catch {
    // A home we cannot write to only means the next run parses again.
    return;
  }
  pruneStale(dirname(path), basename(path), Date.now());
}

/**
 * The parser's bundle has its own copy of BulkheadError, which this one's `instanceof` does not
 * know: its errors are re-made here with the same code, text and issues, so the CLI still reports a
 * broken policy as one (every problem with its position, exit 2).
 */
function asOwnError(error: unknown): unknown {
  if (error instanceof BulkheadError || !(error instanceof Error) || error.name !== 'BulkheadError')
    return error;
  const { code, issues } = error as Error & { code: ErrorCode; issues?: unknown };
  return Object.assign(new BulkheadError(code, error.message, { cause: error }), issues ? { issues } : {});
}
