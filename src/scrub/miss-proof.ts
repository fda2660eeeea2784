/**
 * A cheap proof that a rule's sticky pattern cannot match at a position, read from the pattern
 * itself: most rules are a fixed-width head (a prefix literal, a group of alternatives of one
 * width) followed by a run of one class with a minimum length (`ghp_[A-Za-z0-9]{36}`,
 * `(?:AKIA|ASIA|…)[A-Z0-9]{16}`, `eyJ[A-Za-z0-9_-]{10,400}`). A match at `start` then has that
 * many characters of the class from `start + offset`; where one of them is not, the pattern
 * cannot match there, and the engine books the execution as a failed one without calling it.
 *
 * Why: text made of the anchors of many rules (`token=sk-ghp_AKIApat…`) runs a rule every few
 * characters, and most runs fail on the first character after the anchor; the regex call and its
 * set-up cost many times the one table lookup that settles it.
 *
 * Only a necessary condition is checked, so a pattern whose shape is not recognised (variable
 * head, a quantified group first, unknown syntax) gets no proof and is always called. The
 * engine's accounting (work charged, stats) is that of a failed call: outputs are unchanged.
 */

export interface MissProof {
  /** Characters from the match start to the run (the head's fixed width). */
  offset: number;
  /** Characters of the run that must all be in the class (its minimum, at most MAX_CHECKED). */
  count: number;
  /** ASCII code units in the run's class (1) or not (0); others are taken as in it. */
  ascii: Uint8Array;
}

/** Characters checked at most: a longer minimum is still settled by its first ones. */
const MAX_CHECKED = 32;

/** Reads `pattern` (compiled with `flags`); undefined where no proof is read from it. */
export function missProof(pattern: string, flags: string): MissProof | undefined {
  // An alternative at the top level could match without the run.
  if (hasTopLevelAlternative(pattern)) return undefined;
  let i = 0;
  let offset = 0;
  const n = pattern.length;
  for (;;) {
    if (i >= n) return undefined;
    // Zero-width groups (lookbehind, lookahead) add no width.
    if (
      pattern.startsWith('(?<!', i) ||
      pattern.startsWith('(?<=', i) ||
      pattern.startsWith('(?!', i) ||
      pattern.startsWith('(?=', i)
    ) {
      const close = groupEnd(pattern, i);
      if (close < 0) return undefined;
      i = close + 1;
      continue;
    }
    const atom = readAtom(pattern, i);
    if (!atom) return pattern[i] === '(' ? alternativeRuns(pattern, i, offset, flags) : undefined;
    const quantifier = readQuantifier(pattern, atom.end);
    if (!quantifier) {
      offset += atom.width;
      i = atom.end;
      continue;
    }
    // A quantified single-character atom with a minimum: the run.
    if (atom.width !== 1 || !atom.single || quantifier.min < 1) return undefined;
    const ascii = classTable(atom.source, flags);
    if (!ascii) return undefined;
    return { offset, count: Math.min(quantifier.min, MAX_CHECKED), ascii };
  }
}

/**
 * A group of alternatives each of which starts with a run (`sk-(?:[a-f0-9]{32}|[a-z]{48})`): a
 * match has, from `offset`, as many characters as the shortest alternative's minimum, each in
 * one alternative's class, so in their union. Read only where the group is not quantified and
 * every alternative starts with a quantified single-character atom of minimum 1 or more (a group
 * of keywords, `(?:password|pwd)`, would prove only what its anchor already did).
 */
function alternativeRuns(pattern: string, i: number, offset: number, flags: string): MissProof | undefined {
  const close = groupEnd(pattern, i);
  if (close < 0 || readQuantifier(pattern, close + 1)) return undefined;
  let k = i + 1;
  if (pattern.startsWith('?:', k)) k += 2;
  else if (pattern[k] === '?') return undefined;
  const ascii = new Uint8Array(128);
  let count = MAX_CHECKED;
  for (;;) {
    const atom = readAtom(pattern, k);
    if (!atom?.single) return undefined;
    const quantifier = readQuantifier(pattern, atom.end);
    if (!quantifier || quantifier.min < 1) return undefined;
    const table = classTable(atom.source, flags);
    if (!table) return undefined;
    for (let code = 0; code < 128; code++) ascii[code]! |= table[code]!;
    count = Math.min(count, quantifier.min);
    // On to the next alternative of this group, past anything nested in this one.
    const bar = nextAlternative(pattern, atom.end, close);
    if (bar < 0) return undefined;
    if (bar === close) return { offset, count, ascii };
    k = bar + 1;
  }
}

/** Index of the next `|` at this depth before `close` (a group's `)`, or the pattern's end), from `k`; `close` when none, -1 unread. */
function nextAlternative(pattern: string, k: number, close: number): number {
  return atDepth(pattern, k, close, '|');
}

/**
 * From `k`, the first `target` outside classes and groups nested from there (a `)` closing the
 * group opened at `k`, or a `|` at `k`'s depth), before `stop`: `stop` when none, -1 where a
 * class is never closed.
 */
function atDepth(pattern: string, k: number, stop: number, target: '|' | ')'): number {
  let depth = 0;
  for (; k < stop; k++) {
    const c = pattern[k];
    if (c === '\\') k++;
    else if (c === '[') {
      k = classEnd(pattern, k);
      if (k < 0) return -1;
    } else if (c === '(') depth++;
    else if (c === ')') {
      if (--depth === 0 && target === ')') return k;
    } else if (c === '|' && depth === 0 && target === '|') return k;
  }
  return stop;
}

/** Whether the proof settles that the pattern cannot match at `start` in `input`. */
export function provesMiss(proof: MissProof, input: string, start: number): boolean {
  const from = start + proof.offset;
  const to = from + proof.count;
  if (to > input.length) return true;
  const ascii = proof.ascii;
  for (let k = from; k < to; k++) {
    const code = input.charCodeAt(k);
    if (code < 128 && ascii[code] === 0) return true;
  }
  return false;
}

interface Atom {
  /** Where the atom ends in the pattern (before any quantifier). */
  end: number;
  /** Characters it matches (the same for every way it matches). */
  width: number;
  /** One character of a class (a literal, an escape, a bracket class, `.`): its source. */
  single: boolean;
  source: string;
}

const SPECIAL = new Set(['^', '$', '*', '+', '?', '{', '}', '|', ')', ']']);
const WIDTH_ONE_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S']);

function readAtom(pattern: string, i: number): Atom | undefined {
  const c = pattern[i]!;
  if (c === '\\') {
    const next = pattern[i + 1];
    if (next === undefined) return undefined;
    // Word boundaries, back-references, code escapes, control escapes: not read.
    if (/[0-9bBxucpPkfnrtv]/.test(next) && !WIDTH_ONE_ESCAPES.has(next)) return undefined;
    return { end: i + 2, width: 1, single: true, source: pattern.slice(i, i + 2) };
  }
  if (c === '[') {
    const close = classEnd(pattern, i);
    // `[]` matches nothing and `[^]` anything: not read.
    if (close < 0 || close === i + 1 || (close === i + 2 && pattern[i + 1] === '^')) return undefined;
    return { end: close + 1, width: 1, single: true, source: pattern.slice(i, close + 1) };
  }
  if (c === '.') return { end: i + 1, width: 1, single: true, source: '.' };
  if (c === '(') {
    // A group of alternatives, each a sequence of unquantified single characters, all as wide.
    const close = groupEnd(pattern, i);
    if (close < 0) return undefined;
    let k = i + 1;
    if (pattern.startsWith('?:', k)) k += 2;
    else if (pattern[k] === '?') return undefined;
    let width = -1;
    let current = 0;
    while (k < close) {
      if (pattern[k] === '|') {
        if (width >= 0 && width !== current) return undefined;
        width = current;
        current = 0;
        k++;
        continue;
      }
      const inner = readAtom(pattern, k);
      if (!inner?.single || readQuantifier(pattern, inner.end)) return undefined;
      current += 1;
      k = inner.end;
    }
    if (width >= 0 && width !== current) return undefined;
    return { end: close + 1, width: current, single: false, source: pattern.slice(i, close + 1) };
  }
  if (SPECIAL.has(c)) return undefined;
  return { end: i + 1, width: 1, single: true, source: c };
}

function readQuantifier(pattern: string, i: number): { min: number } | undefined {
  const c = pattern[i];
  if (c === '*' || c === '?') return { min: 0 };
  if (c === '+') return { min: 1 };
  if (c === '{') {
    const m = /^\{(\d+)(?:,\d*)?\}/.exec(pattern.slice(i, i + 16));
    if (m) return { min: Number(m[1]) };
  }
  return undefined;
}

function hasTopLevelAlternative(pattern: string): boolean {
  // A pattern not read (a class never closed) counts as having one.
  return atDepth(pattern, 0, pattern.length, '|') !== pattern.length;
}

/** Index of the `]` closing the class opened at `i`, or -1. */
function classEnd(pattern: string, i: number): number {
  let k = i + 1;
  if (pattern[k] === '^') k++;
  for (; k < pattern.length; k++) {
    if (pattern[k] === '\\') k++;
    else if (pattern[k] === ']') return k;
  }
  return -1;
}

/** Index of the `)` closing the group opened at `i`, or -1. */
function groupEnd(pattern: string, i: number): number {
  const close = atDepth(pattern, i, pattern.length, ')');
  return close === pattern.length ? -1 : close;
}

/** Which ASCII characters the one-character `source` matches under `flags` (sticky dropped). */
function classTable(source: string, flags: string): Uint8Array | undefined {
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${source})$`, flags.replace('y', '').replace('g', ''));
  } catch {
    return undefined;
  }
  const table = new Uint8Array(128);
  for (let code = 0; code < 128; code++) table[code] = regex.test(String.fromCharCode(code)) ? 1 : 0;
  return table;
}
