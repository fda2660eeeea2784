/**
 * A lint for rule patterns that keeps every regex free of catastrophic
 * backtracking (ReDoS): an agent or a poisoned tool can put anything in the
 * text we scrub, so a pattern like `(a+)+$` would let it stall every sink.
 *
 * The constraint is deliberately stricter than "no nested quantifiers":
 *  1. every quantifier is bounded (`?`, `{n}`, `{m,n}` with n ≤ MAX_BOUND; no `*`, `+`, `{m,}`),
 *     so one execution from one start position reads a bounded window;
 *  2. a group repeated more than once contains no variable quantifier and no
 *     alternation, so its iterations cannot split the same text several ways
 *     (`(a|aa){1,30}` and `(a?a){1,30}` are exponential even though bounded);
 *  3. no backreferences.
 * Together: the work of one execution is bounded by a constant that depends on
 * the pattern only, and the scanner runs each pattern at most once per start.
 */

export const MAX_BOUND = 16384;

interface Frame {
  variable: boolean;
  alternation: boolean;
}

/** Problems with `source`; empty when the pattern is linear-safe. */
export function regexSafetyProblems(source: string): string[] {
  const problems: string[] = [];
  const stack: Frame[] = [{ variable: false, alternation: false }];
  let i = 0;
  const top = () => stack[stack.length - 1]!;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') problems.push(`backreference at ${i}`);
      i += 2;
      i = applyQuantifier(source, i, null, top(), problems);
      continue;
    }
    if (ch === '[') {
      i++;
      if (source[i] === '^') i++;
      if (source[i] === ']') i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i++;
      i = applyQuantifier(source, i, null, top(), problems);
      continue;
    }
    if (ch === '(') {
      stack.push({ variable: false, alternation: false });
      i++;
      if (source[i] === '?') {
        // Group opener: (?: (?= (?! (?<= (?<! (?<name>
        i++;
        if (source[i] === '<' && source[i + 1] !== '=' && source[i + 1] !== '!') {
          while (i < source.length && source[i] !== '>') i++;
          i++;
        } else {
          i += source[i] === '<' ? 2 : 1;
        }
      }
      continue;
    }
    if (ch === ')') {
      const group = stack.pop() ?? { variable: false, alternation: false };
      if (stack.length === 0) {
        problems.push(`unbalanced ) at ${i}`);
        stack.push({ variable: false, alternation: false });
      }
      i = applyQuantifier(source, i + 1, group, top(), problems);
      if (group.variable) top().variable = true;
      continue;
    }
    if (ch === '|') top().alternation = true;
    if (ch === '*' || ch === '+' || ch === '?' || ch === '{') {
      // A quantifier that follows nothing quantifiable ('^*'), or a stray brace.
      if (ch !== '{' || /^\{\d/.test(source.slice(i))) problems.push(`dangling quantifier at ${i}`);
    }
    i++;
    if (ch !== '|' && ch !== '^' && ch !== '$') {
      i = applyQuantifier(source, i, null, top(), problems);
    }
  }
  if (stack.length !== 1) problems.push('unbalanced (');
  return problems;
}

/** Parses a quantifier at `at` (if any), records its effect and returns the index after it. */
function applyQuantifier(
  source: string,
  at: number,
  group: Frame | null,
  frame: Frame,
  problems: string[],
): number {
  const ch = source[at];
  let min: number;
  let max: number;
  let end: number;
  if (ch === '*' || ch === '+') {
    problems.push(`unbounded quantifier '${ch}' at ${at}`);
    return at + 1 + (source[at + 1] === '?' ? 1 : 0);
  }
  if (ch === '?') {
    min = 0;
    max = 1;
    end = at + 1;
  } else if (ch === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at, at + 24));
    if (!m) return at;
    min = Number(m[1]);
    if (m[2] === undefined) max = min;
    else if (m[3] === '') {
      problems.push(`unbounded quantifier '${m[0]}' at ${at}`);
      return at + m[0].length;
    } else max = Number(m[3]);
    if (max > MAX_BOUND) problems.push(`quantifier bound ${max} above ${MAX_BOUND} at ${at}`);
    end = at + m[0].length;
  } else {
    return at;
  }
  if (source[end] === '?') end++;
  if (group && max > 1 && (group.variable || group.alternation)) {
    problems.push(`repeated group with a variable quantifier or alternation inside, before ${at}`);
  }
  if (min !== max) frame.variable = true;
  return end;
}

/**
 * An upper bound on the length of any match of `source` (lookarounds count as zero width).
 * A stream holds back this much after a rule anchor, so a rule that can match further than it
 * declares would let the tail of a secret slip out in the next chunk; the rule tests compare
 * this bound with each rule's `maxLength`. Assumes a pattern that passes the lint above.
 */
export function maxMatchLength(source: string): number {
  interface Group {
    best: number;
    current: number;
    last: number;
    zeroWidth: boolean;
  }
  const stack: Group[] = [{ best: 0, current: 0, last: 0, zeroWidth: false }];
  const top = () => stack[stack.length - 1]!;
  const atom = (length: number) => {
    top().current += length;
    top().last = length;
  };
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      i += next === 'u' ? 6 : next === 'x' ? 4 : 2;
      atom(next === 'b' || next === 'B' ? 0 : 1);
    } else if (ch === '[') {
      i++;
      if (source[i] === '^') i++;
      if (source[i] === ']') i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i++;
      atom(1);
    } else if (ch === '(') {
      let zeroWidth = false;
      i++;
      if (source[i] === '?') {
        const kind = source.slice(i, i + 3);
        zeroWidth = kind.startsWith('?=') || kind.startsWith('?!') || kind === '?<=' || kind === '?<!';
        if (source[i + 1] === '<' && !zeroWidth) i = source.indexOf('>', i) + 1;
        else i += zeroWidth && source[i + 1] === '<' ? 3 : 2;
      }
      stack.push({ best: 0, current: 0, last: 0, zeroWidth });
    } else if (ch === '|') {
      top().best = Math.max(top().best, top().current);
      top().current = 0;
      i++;
    } else if (ch === ')') {
      const group = stack.pop()!;
      i++;
      atom(group.zeroWidth ? 0 : Math.max(group.best, group.current));
    } else if (ch === '?' || ch === '{' || ch === '*' || ch === '+') {
      const m = /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i, i + 24));
      const max =
        ch === '?'
          ? 1
          : m
            ? Number(m[2] === undefined ? m[1] : m[2] || Number.POSITIVE_INFINITY)
            : Number.POSITIVE_INFINITY;
      const frame = top();
      frame.current += frame.last * (max - 1);
      frame.last = 0;
      i += m ? m[0].length : 1;
      if (source[i] === '?') i++;
    } else {
      i++;
      atom(ch === '^' || ch === '$' ? 0 : 1);
    }
  }
  const root = top();
  return Math.max(root.best, root.current);
}
