/**
 * Patterns from the policy and from upstream schemas run with RE2 semantics
 * (re2js, a pure-JS port of RE2): matching time is linear in the input, so a
 * nested quantifier such as `^([a-z ]+)+$` cannot stall the gateway on a
 * crafted argument. The price is RE2's syntax: no lookaround and no
 * backreferences. A pattern RE2 cannot compile is refused where it is loaded
 * (policy load, or the upstream's tool is kept out of the catalog), never at
 * call time. JSON Schema patterns are written in JavaScript's dialect, so the
 * `\uXXXX` and `\u{X}` escapes RE2 lacks are translated to its `\x{X}`.
 *
 * Linear is not enough on its own: RE2's matcher does work proportional to
 * the input's length times the size of the pattern's compiled program, and a
 * counted repetition is compiled as that many copies (`\w{1000}` is a
 * thousand instructions; five of them in a row ran 54 s on a 200 KB argument).
 * So a pattern whose program exceeds MAX_PROGRAM instructions is refused where
 * it is loaded, like one RE2 cannot run, and one match may do at most
 * MAX_MATCH_WORK instruction steps (program size times input length): a
 * longer value is refused as not matching, unchecked, rather than holding
 * the event loop (re2js runs at tens of nanoseconds per step).
 */
import { RE2JS } from 're2js';

export interface LinearRegExp {
  test(input: string): boolean;
  /** ajv keys compiled patterns by this string: it must differ for every pattern and flag set. */
  toString(): string;
}

/** Instructions of a compiled program; patterns of real schemas stay well under (an e-mail shape is ~800). */
export const MAX_PROGRAM = 2_000;
/** Program size × input length one match may cost (about 0.1–0.3 s of re2js at worst). */
export const MAX_MATCH_WORK = 8_000_000;

export type CompiledPattern = { ok: true; regexp: LinearRegExp } | { ok: false; reason: string };

/** Compiles `pattern` for linear-time matching, or says why it cannot be. */
export function compileLinear(pattern: string, flags = ''): CompiledPattern {
  let re: RE2JS;
  try {
    re = RE2JS.compile(translate(pattern, flags), flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    return { ok: false, reason: reason(error) };
  }
  const size = programSize(re);
  if (size > MAX_PROGRAM)
    return {
      ok: false,
      reason: `pattern too large: it compiles to ${size} instructions, over ${MAX_PROGRAM} (every character of an argument would cost that many steps; counted repetitions like {1000} are compiled as that many copies)`,
    };
  const source = `/${pattern}/${flags}`;
  // Past the budget the value is refused unchecked: a value that cannot be checked is rejected.
  const maxInput = Math.floor(MAX_MATCH_WORK / Math.max(size, 1));
  return {
    ok: true,
    regexp: {
      test: (input: string) => input.length <= maxInput && re.matcher(input).find(),
      toString: () => source,
    },
  };
}

/**
 * The compiled program's size. re2js keeps it on the compiled RE2 (no public
 * accessor); a version that moves it fails here loudly, never by accepting
 * an unmeasured pattern (a test pins this).
 */
export function programSize(re: RE2JS): number {
  const prog = (re as unknown as { re2Input?: { prog?: { numInst?: () => unknown } } }).re2Input?.prog;
  const size = typeof prog?.numInst === 'function' ? prog.numInst() : undefined;
  if (typeof size !== 'number') throw new Error('re2js no longer exposes the compiled program size');
  return size;
}

/** The ajv `code.regExp` engine: throws on a pattern RE2 cannot run, which ajv reports as a compile error. */
export function ajvRegExp(pattern: string, flags: string): LinearRegExp {
  const compiled = compileLinear(pattern, flags);
  if (!compiled.ok) throw new Error(`pattern ${JSON.stringify(pattern)}: ${compiled.reason}`);
  return compiled.regexp;
}
// ajv reads `code` to emit standalone code; any value other than "new RegExp" makes it call this engine.
ajvRegExp.code = 'bulkheadLinearRegExp';

/**
 * JSON Schema patterns mean what ECMA-262 says; where RE2 reads the same text more loosely, the
 * pattern is rewritten so it does not accept more than its author wrote. `\s` in JavaScript also
 * takes the no-break, line and paragraph separators and the other Unicode spaces (RE2: ASCII only,
 * so `^\S+$` let `a\u00a0b` and `a\u2028b` through), and `.` excludes `\r`, U+2028 and U+2029
 * (RE2: only `\n`, so `^.+$` let a line separator through). JavaScript's `[]` matches nothing
 * and `[^]` anything. `\uXXXX` and `\u{X}` become RE2's `\x{X}`.
 */
const JS_SPACE = String.raw`\t-\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}`;
/** Everything but JS_SPACE, as ranges (usable inside a class, where `[^…]` cannot nest). */
const JS_NON_SPACE = String.raw`\x00-\x08\x0E-\x1F\x21-\x{9F}\x{A1}-\x{167F}\x{1681}-\x{1FFF}\x{200B}-\x{2027}\x{202A}-\x{202E}\x{2030}-\x{205E}\x{2060}-\x{2FFF}\x{3001}-\x{FEFE}\x{FF00}-\x{10FFFF}`;
const JS_DOT = String.raw`[^\n\r\x{2028}\x{2029}]`;

function translate(pattern: string, flags = ''): string {
  const dotAll = flags.includes('s') || pattern.includes('(?s');
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === 'u') {
        const four = /^[0-9a-fA-F]{4}/.exec(pattern.slice(i + 2, i + 6));
        const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(pattern.slice(i + 2, i + 10));
        if (four) {
          out += `\\x{${four[0]}}`;
          i += 5;
          continue;
        }
        if (braced) {
          out += `\\x{${braced[1]}}`;
          i += 1 + braced[0].length;
          continue;
        }
      }
      if (next === 's' || next === 'S') {
        out += inClass
          ? next === 's'
            ? JS_SPACE
            : JS_NON_SPACE
          : next === 's'
            ? `[${JS_SPACE}]`
            : `[^${JS_SPACE}]`;
        i += 1;
        continue;
      }
      out += ch + (next ?? '');
      i += 1;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
      continue;
    }
    if (ch === '[') {
      const negated = pattern[i + 1] === '^';
      const close = i + (negated ? 2 : 1);
      if (pattern[close] === ']') {
        // JavaScript's empty class: `[]` matches nothing, `[^]` any character.
        out += negated ? String.raw`[\x00-\x{10FFFF}]` : String.raw`[^\x00-\x{10FFFF}]`;
        i = close;
        continue;
      }
      inClass = true;
      out += negated ? '[^' : '[';
      if (negated) i += 1;
      continue;
    }
    out += ch === '.' && !dotAll ? JS_DOT : ch;
  }
  return out;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // re2js says e.g. "error parsing regexp: invalid or unsupported Perl syntax: `(?=`".
  return `${message.replace(/^error parsing regexp: /, '')} (patterns run with RE2 semantics: no lookaround, no backreferences)`;
}
