/**
 * Redactions a scrub made, by rule: the `[REDACTED:<rule>]` markers in its
 * output less those already in its input (an upstream can print markers too).
 * For the `bulkhead_scrub_findings_total` metric; computed where the scrub
 * ran (the main thread or an inspection worker). The values' strings (keys
 * included) are read where they lie: serialising a megabyte result whole
 * only to look for markers cost more than the lookup.
 */
export function redactionCounts(before: unknown, after: unknown): Record<string, number> {
  const counts = new Map<string, number>();
  countMarkers(after, counts, 1);
  if (counts.size === 0) return {};
  countMarkers(before, counts, -1);
  return Object.fromEntries([...counts].filter(([, n]) => n > 0));
}

const MARKER = /\[REDACTED:([A-Za-z0-9_.-]{1,64})\]/g;

function countMarkers(value: unknown, counts: Map<string, number>, sign: 1 | -1): void {
  if (typeof value === 'string') {
    if (!value.includes('[REDACTED:')) return;
    for (const m of value.matchAll(MARKER)) {
      const rule = m[1] as string;
      counts.set(rule, (counts.get(rule) ?? 0) + sign);
    }
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) countMarkers(item, counts, sign);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    countMarkers(key, counts, sign);
    countMarkers(item, counts, sign);
  }
}
