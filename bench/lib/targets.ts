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
  /** The same measure for a contender that does less (see `Floor`), where the bench has one. */
  floor?: Floor;
}

/** A figure with its unit, to three significant digits or so. */
function shown(value: number, unit: string): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit}`;
}

/** A target on a number: NaN counts as not measured. */
export function targetOn(target: string, value: number, unit: string, ok: (v: number) => boolean): Target {
  if (!Number.isFinite(value)) return { target, measured: 'not measured', met: null };
  return { target, measured: shown(value, unit), met: ok(value) };
}

export function metLabel(met: boolean | null): string {
  return met === null ? 'not measured' : met ? 'met' : 'NOT met';
}

/**
 * The same measure for a contender that does less than bulkhead must, in the same run: a bare
 * reverse proxy with no checks, a relay with no checks, no gateway at all, node's own start. A
 * target its floor misses too is set below what the path itself costs on this machine.
 */
export interface Floor {
  /** Who the contender is: "node:http hop (no checks)". */
  what: string;
  /** Its figure, with the unit. */
  measured: string;
  /** Whether the contender meets the target's bound. */
  met: boolean;
}

/** `target` with its floor: the contender's `value`, judged by the same bound. */
export function withFloor(
  target: Target,
  what: string,
  value: number,
  unit: string,
  ok: (v: number) => boolean,
): Target {
  if (!Number.isFinite(value)) return target;
  return { ...target, floor: { what, measured: shown(value, unit), met: ok(value) } };
}

/** The floor's cell in the summary table. */
export function floorLabel(floor: Floor | undefined): string {
  return floor ? `${floor.what}: ${floor.measured}${floor.met ? '' : ', misses it too'}` : '';
}
