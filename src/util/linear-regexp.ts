/**
 * Patterns from the policy and from upstream schemas run with RE2 semantics
 * (re2js, a pure-JS port of RE2): matching time is linear in the input, so a
 * nested quantifier such as `^([a-z ]+)+$` cannot stall the gateway on a
 * crafted argument. The price is RE2's syntax: no lookaround and no
 * backreferences. A pattern RE2 cannot compile is refused where it is loaded
 * (policy load, or the upstream's tool is kept out of the catalog), never at
 * call time. JSON Schema patterns are written in JavaScript's dialect, so the
 * `\uXXXX` and `\u{X}` escapes RE2 lacks are translated to its `\x{X}`.
 */
import { RE2JS } from 're2js';

export interface LinearRegExp {
  test(input: string): boolean;
  /** ajv keys compiled patterns by this string: it must differ for every pattern and flag set. */
  toString(): string;
}

export type CompiledPattern = { ok: true; regexp: LinearRegExp } | { ok: false; reason: string };

/** Compiles `pattern` for linear-time matching, or says why it cannot be. */
export function compileLinear(pattern: string, flags = ''): CompiledPattern {
  let re: RE2JS;
  try {
    re = RE2JS.compile(translate(pattern), flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    return { ok: false, reason: reason(error) };
  }
  const source = `/${pattern}/${flags}`;
  return { ok: true, regexp: { test: (input: string) => re.matcher(input).find(), toString: () => source } };
}

/** The ajv `code.regExp` engine: throws on a pattern RE2 cannot run, which ajv reports as a compile error. */
export function ajvRegExp(pattern: string, flags: string): LinearRegExp {
  const compiled = compileLinear(pattern, flags);
  if (!compiled.ok) throw new Error(`pattern ${JSON.stringify(pattern)}: ${compiled.reason}`);
  return compiled.regexp;
}
// ajv reads `code` to emit standalone code; any value other than "new RegExp" makes it call this engine.
ajvRegExp.code = 'bulkheadLinearRegExp';

/** `\uXXXX` and `\u{X}` (JavaScript) become `\x{X}` (RE2); every other escape is kept as written. */
function translate(pattern: string): string {
  if (!pattern.includes('\\u')) return pattern;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
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
    out += ch + (next ?? '');
    i += 1;
  }
  return out;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // re2js says e.g. "error parsing regexp: invalid or unsupported Perl syntax: `(?=`".
  return `${message.replace(/^error parsing regexp: /, '')} (patterns run with RE2 semantics: no lookaround, no backreferences)`;
}
