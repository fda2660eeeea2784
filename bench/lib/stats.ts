/** Small statistics and table helpers shared by the benchmarks. */

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export interface LatencySummary {
  p50: number;
  p99: number;
  perSecond: number;
  n: number;
}

export function summarize(latenciesMs: number[], wallMs: number): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    perSecond: (latenciesMs.length / wallMs) * 1000,
    n: sorted.length,
  };
}

export function formatTable(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return cells
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/**
 * The `round`-th of all orders of `n` contenders (round-robin over the n! permutations), so each
 * follows each other one equally often. A rotation keeps the cycle: in an LLM bench A/A run, the
 * gateway that always came right after the direct request read ~1 ms slower on a 210 KB prompt
 * than the same code right after the other gateway.
 */
export function orderOf(round: number, n: number): number[] {
  const left = Array.from({ length: n }, (_, i) => i);
  const order: number[] = [];
  let k = round;
  for (let size = n; size > 0; size--) {
    let ways = 1;
    for (let f = 2; f < size; f++) ways *= f;
    const total = ways * size;
    const pick = Math.floor((k % total) / ways);
    order.push(left.splice(pick, 1)[0] as number);
    k %= ways;
  }
  return order;
}
