/**
 * A prom-client histogram series observed without prom-client's per-call work. Its
 * `observe(labels, value)` checks the labels and builds the series key from them on every call
 * (about 1–2 µs), and a `tools/call` made about seventeen (a stage's latency for each stage, a
 * store operation's for each write): some 2% of the gateway's CPU per call.
 *
 * An observer is made once per label set. Its first observation goes through prom-client (which
 * checks the labels and creates the series); later ones add to that series as prom-client's own
 * `observe` does (sum, count, the first bucket the value fits), for as long as the series is still
 * the histogram's: after a `reset()` or `remove()` the next observation goes through prom-client
 * again. A value that is not finite goes through prom-client too, which refuses it as before.
 */
import type { Histogram } from 'prom-client';

/** What prom-client (15.x) keeps per series, and where (checked at run time, see `found`). */
interface Series {
  labels: object;
  sum: number;
  count: number;
  bucketValues: Record<number, number>;
}

interface Internals {
  hashMap?: Record<string, Series | undefined>;
  upperBounds?: readonly number[];
}

export function histogramObserver<T extends string>(
  histogram: Histogram<T>,
  labels: Partial<Record<T, string | number>>,
): (value: number) => void {
  const internals = histogram as unknown as Internals;
  let key: string | undefined;
  let series: Series | undefined;
  return (value) => {
    const bounds = internals.upperBounds;
    if (series && key !== undefined && internals.hashMap?.[key] === series && Number.isFinite(value)) {
      series.sum += value;
      series.count += 1;
      const bound = bounds ? firstBound(bounds, value) : -1;
      if (Object.hasOwn(series.bucketValues, bound)) (series.bucketValues[bound] as number) += 1;
      return;
    }
    histogram.observe(labels, value);
    ({ key, series } = found(internals, labels));
  };
}

/** The series prom-client keeps for these label values. */
function found(internals: Internals, labels: Record<string, unknown>): { key?: string; series?: Series } {
  const map = internals.hashMap;
  if (!map || typeof map !== 'object' || !Array.isArray(internals.upperBounds)) return {};
  for (const key in map) {
    const series = map[key];
    if (
      series &&
      sameLabels(series.labels as Record<string, unknown>, labels) &&
      typeof series.sum === 'number' &&
      typeof series.count === 'number' &&
      typeof series.bucketValues === 'object'
    )
      return { key, series };
  }
  return {};
}

function sameLabels(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

/** prom-client's `findBound`: the first upper bound the value is under, -1 past them all. */
function firstBound(bounds: readonly number[], value: number): number {
  for (const bound of bounds) if (value <= bound) return bound;
  return -1;
}
