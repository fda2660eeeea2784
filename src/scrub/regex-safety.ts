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
