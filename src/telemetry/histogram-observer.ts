/**
 * One prom-client histogram series, observed through the child `labels()` gives (prom-client's
 * documented way to bind label values once). `histogram.observe(labels, value)` checks the labels
 * against the histogram's names on every call; a `tools/call` makes about seventeen observations
 * (a stage's latency for each stage, a store operation's for each write). The child looks its
 * series up by the label values on each observation, so it keeps working across a `reset()` or a
 * `remove()`, and a value that is not finite is refused as before.
 */
import type { Histogram } from 'prom-client';

export function histogramObserver<T extends string>(
  histogram: Histogram<T>,
  labels: Partial<Record<T, string | number>>,
): (value: number) => void {
  const series = histogram.labels(labels);
  return (value) => series.observe(value);
}
