/**
 * Fingerprints of values a run received from a private source. The store
 * keeps these, never the values: a keyed hash per run, so the same address in
 * two runs does not link them. A reader of the store who guesses a value can
 * still test the guess (a phone number has few enough digits to enumerate):
 * fingerprints keep values out of the store's plain text, they do not make
 * them secret.
 */
import { createHash } from 'node:crypto';
import type { ValueFingerprint } from '../runs/run.js';
import type { FoundValue } from './values.js';

export function fingerprint(runId: string, value: string): string {
  return createHash('sha256').update(`bulkhead/value\0${runId}\0${value}`).digest('hex').slice(0, 32);
}

export function fingerprintsOf(
  runId: string,
  source: string,
  values: readonly FoundValue[],
): ValueFingerprint[] {
  return values.map((v) => ({ fingerprint: fingerprint(runId, v.value), source, kind: v.kind }));
}

export interface Recognised {
  /** JSON pointer of the outgoing argument. */
  pointer: string;
  kind: FoundValue['kind'];
  /** The private source the value came from. */
  source: string;
}

/** Outgoing values whose fingerprint the run holds: which argument, what kind, from where. */
export function recognise(
  runId: string,
  kept: readonly ValueFingerprint[],
  outgoing: readonly { pointer: string; value: FoundValue }[],
): Recognised[] {
  if (kept.length === 0 || outgoing.length === 0) return [];
  const byPrint = new Map(kept.map((k) => [k.fingerprint, k]));
  const found = new Map<string, Recognised>();
  for (const { pointer, value } of outgoing) {
    const hit = byPrint.get(fingerprint(runId, value.value));
    if (!hit) continue;
    // The more telling kind wins: "email" says more to an approver than "value".
    const kind = value.kind !== 'value' ? value.kind : hit.kind;
    const key = `${pointer}\0${hit.source}`;
    const previous = found.get(key);
    if (!previous || previous.kind === 'value') found.set(key, { pointer, kind, source: hit.source });
  }
  return [...found.values()];
}
