/** Display formatting: times, durations and budget quantities. Pure functions. */

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function ago(at: number, now: number): string {
  const ms = now - at;
  return ms < 5_000 ? 'just now' : `${duration(ms)} ago`;
}

export function clock(at: number): string {
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function dateTime(at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

const DIMENSION_LABELS: Record<string, string> = {
  tool_calls: 'Tool calls',
  tokens: 'Tokens',
  input_tokens: 'Input tokens',
  output_tokens: 'Output tokens',
  usd: 'Spend',
  cost_usd: 'Spend',
  wall_clock: 'Wall clock',
};

export function dimensionLabel(dimension: string): string {
  return DIMENSION_LABELS[dimension] ?? dimension.replace(/_/g, ' ');
}

/** A budget quantity in its dimension's unit. */
export function quantity(dimension: string, value: number): string {
  if (dimension === 'wall_clock') return duration(value);
  if (dimension === 'usd' || dimension === 'cost_usd') return `$${value.toFixed(value < 10 ? 2 : 0)}`;
  return count(Math.round(value));
}

export function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 12)}…` : id;
}
