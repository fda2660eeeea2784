/**
 * Redactions a scrub made, by rule: the `[REDACTED:<rule>]` markers in its
 * output less those already in its input (an upstream can print markers too).
 * For the `bulkhead_scrub_findings_total` metric; computed where the scrub
 * ran (the main thread or an inspection worker).
 */
export function redactionCounts(before: unknown, after: unknown): Record<string, number> {
  const out = JSON.stringify(after) ?? '';
  if (!out.includes('[REDACTED:')) return {};
  const counts = markers(out);
  for (const [rule, n] of markers(JSON.stringify(before) ?? ''))
    counts.set(rule, (counts.get(rule) ?? 0) - n);
  return Object.fromEntries([...counts].filter(([, n]) => n > 0));
}

function markers(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/\[REDACTED:([A-Za-z0-9_.-]{1,64})\]/g)) {
    const rule = m[1] as string;
    counts.set(rule, (counts.get(rule) ?? 0) + 1);
  }
  return counts;
}
