/**
 * Aggregates over the audit log for operators: how many calls each run made
 * and how many were refused or held, and the same over time. Computed by the
 * store (one grouped query), so a busy log costs one index scan, not a page of
 * events per number.
 */
import type { DecisionKind } from './event.js';

export interface DecisionCounts {
  allow: number;
  deny: number;
  hold: number;
}

export interface CallBucket {
  /** Start of the bucket (ms since the epoch). */
  at: number;
  allow: number;
  deny: number;
  hold: number;
}

export interface EventStats {
  /** Tool-call decisions per run, for the given runs. A run with no calls is absent. */
  decisionsByRun(runIds: readonly string[]): Promise<Map<string, DecisionCounts>>;
  /** Tool-call decisions in `buckets` equal slices of [since, since + buckets × bucketMs). */
  callHistogram(options: {
    since: number;
    bucketMs: number;
    buckets: number;
    runId?: string;
  }): Promise<CallBucket[]>;
}

export const emptyCounts = (): DecisionCounts => ({ allow: 0, deny: 0, hold: 0 });

/** Folds grouped rows into per-run counts; shared by both stores. */
export function countsByRun(
  rows: readonly { run_id: string; decision: DecisionKind | null; n: number | string }[],
): Map<string, DecisionCounts> {
  const out = new Map<string, DecisionCounts>();
  for (const row of rows) {
    if (!row.decision) continue;
    const counts = out.get(row.run_id) ?? emptyCounts();
    counts[row.decision] += Number(row.n);
    out.set(row.run_id, counts);
  }
  return out;
}

/** Folds grouped rows (bucket index, decision, count) into a dense histogram; shared by both stores. */
export function denseHistogram(
  rows: readonly { bucket: number | string; decision: DecisionKind | null; n: number | string }[],
  options: { since: number; bucketMs: number; buckets: number },
): CallBucket[] {
  const out: CallBucket[] = Array.from({ length: options.buckets }, (_, i) => ({
    at: options.since + i * options.bucketMs,
    ...emptyCounts(),
  }));
  for (const row of rows) {
    const bucket = out[Number(row.bucket)];
    if (bucket && row.decision) bucket[row.decision] += Number(row.n);
  }
  return out;
}
