/**
 * A bench's targets, next to what it measured: `npm run bench` gathers every
 * bench's list into one table at the end (and bench/results/targets.md), so
 * one run says plainly which targets are met.
 */
export interface Target {
  /** What must hold, with its bound: "added p50 at c=1 ≤ 1 ms". */
  target: string;
  /** The figure measured, with its unit; "not measured" when there is none. */
  measured: string;
  /** null: not measured in this run. */
  met: boolean | null;
}

/** A target on a number: NaN counts as not measured. */
export function targetOn(target: string, value: number, unit: string, ok: (v: number) => boolean): Target {
  if (!Number.isFinite(value)) return { target, measured: 'not measured', met: null };
  const shown =
    Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
  return { target, measured: `${shown}${unit}`, met: ok(value) };
}

export function metLabel(met: boolean | null): string {
  return met === null ? 'not measured' : met ? 'met' : 'NOT met';
}
