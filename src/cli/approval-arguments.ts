/**
 * Every argument of a held call, as an approver reads it in a terminal: one
 * line per leaf (JSON pointer = JSON value), wrapped, never cut, so an amount
 * cannot hide past a cut. Fields that differ first: from the arguments an
 * approver edited, or between calls of the same tool waiting side by side
 * (the one changed amount among near-identical refunds). Characters that can
 * hide or reorder text in a terminal (controls, bidi overrides, zero-width,
 * tag characters) are shown as escapes, and keys a reader could take for a
 * sibling (`PАTH` beside `PATH`) written out (inspect/key-reading.ts).
 */
import { HIDDEN, keysToWriteOut, writtenOut } from '../inspect/key-reading.js';

export interface ArgumentLeaf {
  pointer: string;
  /** The value as JSON, made visible. */
  value: string;
}

/** Shows what a terminal would hide: `\u{202e}` instead of a right-to-left override. */
export function visible(text: string): string {
  return text.replace(HIDDEN, (ch) => `\\u{${(ch.codePointAt(0) as number).toString(16)}}`);
}

/** Leaves in document order; an empty object or array is a leaf of its own. */
export function leaves(value: unknown, pointer = ''): ArgumentLeaf[] {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value);
    if (entries.length === 0) return [{ pointer: pointer || '/', value: Array.isArray(value) ? '[]' : '{}' }];
    const confusable = Array.isArray(value) ? new Set<string>() : keysToWriteOut(Object.keys(value));
    return entries.flatMap(([key, child]) => {
      const segment = key.replace(/~/g, '~0').replace(/\//g, '~1');
      return leaves(child, `${pointer}/${confusable.has(key) ? writtenOut(segment) : segment}`);
    });
  }
  return [{ pointer: pointer || '/', value: JSON.stringify(value) ?? String(value) }];
}

export interface ArgumentView {
  leaves: ArgumentLeaf[];
  /** Pointers whose value differs from the reference(s); listed first. */
  differing: Set<string>;
  /** For edited arguments: the original value of each changed pointer. */
  was: Map<string, string>;
}

/**
 * The arguments to show: the edited ones when an approver edited them (what
 * will run), differing fields first, compared with the original arguments
 * and with the arguments of `siblings` (other held calls of the same tool).
 */
export function argumentView(
  args: Record<string, unknown>,
  edited: Record<string, unknown> | null,
  siblings: readonly Record<string, unknown>[] = [],
): ArgumentView {
  const shown = leaves(edited ?? args);
  const differing = new Set<string>();
  const was = new Map<string, string>();
  if (edited) {
    const original = new Map(leaves(args).map((l) => [l.pointer, l.value]));
    for (const leaf of shown) {
      const before = original.get(leaf.pointer);
      if (before !== leaf.value) {
        differing.add(leaf.pointer);
        was.set(leaf.pointer, before ?? '(absent)');
      }
    }
    for (const pointer of original.keys())
      if (!shown.some((l) => l.pointer === pointer)) {
        differing.add(pointer);
        was.set(pointer, original.get(pointer) as string);
      }
  }
  for (const sibling of siblings) {
    const theirs = new Map(leaves(sibling).map((l) => [l.pointer, l.value]));
    for (const leaf of shown) if (theirs.get(leaf.pointer) !== leaf.value) differing.add(leaf.pointer);
  }
  const ordered = [
    ...shown.filter((l) => differing.has(l.pointer)),
    ...shown.filter((l) => !differing.has(l.pointer)),
  ];
  return { leaves: ordered, differing, was };
}

/** Lines for a terminal `width` columns wide, each value wrapped under its pointer, none cut. */
export function argumentLines(view: ArgumentView, width = 100, indent = '    '): string[] {
  const out: string[] = [];
  const removed = [...view.was.keys()].filter((p) => !view.leaves.some((l) => l.pointer === p));
  const rows = [
    ...view.leaves.map((l) => ({ pointer: l.pointer, value: l.value })),
    ...removed.map((p) => ({ pointer: p, value: '(removed)' })),
  ];
  const keyWidth = Math.min(32, Math.max(0, ...rows.map((r) => visible(r.pointer).length)));
  for (const row of rows) {
    const mark = view.differing.has(row.pointer) ? '* ' : '  ';
    const key = visible(row.pointer).padEnd(keyWidth);
    const head = `${indent}${mark}${key} = `;
    const room = Math.max(20, width - head.length);
    const chunks = wrap(visible(row.value), room);
    out.push(`${head}${chunks[0] ?? ''}`);
    for (const chunk of chunks.slice(1)) out.push(`${' '.repeat(head.length)}${chunk}`);
    const before = view.was.get(row.pointer);
    if (before !== undefined && row.value !== '(removed)')
      out.push(`${' '.repeat(head.length)}(was ${visible(before)})`);
  }
  return out;
}

function wrap(text: string, width: number): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += width) chunks.push(text.slice(i, i + width));
  return chunks.length > 0 ? chunks : [''];
}
