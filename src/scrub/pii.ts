/**
 * Personal data detectors: emails, phone numbers, payment cards (Luhn),
 * IBANs (ISO 13616 mod-97) and national ids (US SSN, UK NINO).
 *
 * Each kind has an action: `redact` (`[REDACTED:<kind>]`), `mask` (keeps a hint
 * a human needs, e.g. the last 4 digits of a card) or `allow`. Defaults: cards,
 * IBANs and national ids are redacted — they identify a person or an account
 * and a tool rarely needs to show them to a model; emails and phone numbers are
 * allowed because agents routinely work with them (tickets, CRMs) and redacting
 * them by default would break ordinary tasks. A profile can tighten either.
 *
 * Patterns deliberately over-match a little (a run of digits and separators)
 * and `refine` then picks the longest prefix that passes the checksum, so the
 * regexes stay flat and linear (see regex-safety.ts).
 */

export type PiiKind = 'email' | 'phone' | 'card' | 'iban' | 'national_id';
export type PiiAction = 'redact' | 'mask' | 'allow';
export type PiiActions = Record<PiiKind, PiiAction>;

export const PII_KINDS: readonly PiiKind[] = ['email', 'phone', 'card', 'iban', 'national_id'];

export const DEFAULT_PII_ACTIONS: Readonly<PiiActions> = {
  email: 'allow',
  phone: 'allow',
  card: 'redact',
  iban: 'redact',
  national_id: 'redact',
};

export interface PiiDetector {
  readonly kind: PiiKind;
  /** Regex source, run global over the text. */
  readonly pattern: string;
  /** Length of the longest valid prefix of a candidate, 0 when none is valid. */
  refine(candidate: string): number;
  /** A hint-preserving replacement for `mask`. */
  mask(match: string): string;
  /** Longest text a match can span (how much a stream holds back). */
  readonly maxLength: number;
  /** Characters a match can contain, for a stream's hold-back. */
  readonly alphabet: RegExp;
  /**
   * Shortest text a match can span. Every match is then a run of `alphabet` characters at least
   * this long, and the scan runs the pattern only over such runs (pii-scan.ts), found by probing
   * every `minRun`-th character: most text (prose, `%41%41…`, hashes) has none, and a global
   * pattern with no literal to skip to otherwise tries every position.
   */
  readonly minRun?: number;
  /**
   * The match also takes up to `max` characters of `chars` just before the pattern's match (an
   * email's local part). The pattern then starts at a literal (`@`) and the prefix is found by
   * walking back, instead of trying a 64-character local part at every position of the text.
   */
  readonly prefix?: { readonly chars: RegExp; readonly max: number };
  /**
   * What every match's first characters are (`chars[k]` holds the k-th) and what the character
   * before it is not (the pattern's own lookbehind, repeated): with `minRun`, the pattern is run
   * (sticky) only at the positions of a run that pass these, not searched through the run. A
   * necessary condition only: the pattern still decides. For patterns that start with a class
   * common in base64 and hashes (upper-case letters, digits), where a search stops everywhere.
   */
  readonly starts?: { readonly chars: readonly RegExp[]; readonly notAfter: RegExp };
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616: move the country code and check digits to the end, letters to numbers, mod 97 = 1. */
export function ibanValid(iban: string): boolean {
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const code = rearranged.charCodeAt(i);
    const value = code >= 65 ? code - 55 : code - 48;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

/** Replaces the characters selected by `keep` === false with `*`, preserving separators. */
function maskChars(text: string, isSignificant: RegExp, keepFirst: number, keepLast: number): string {
  let total = 0;
  for (const ch of text) if (isSignificant.test(ch)) total++;
  let seen = 0;
  let out = '';
  for (const ch of text) {
    if (!isSignificant.test(ch)) {
      out += ch;
      continue;
    }
    out += seen < keepFirst || seen >= total - keepLast ? ch : '*';
    seen++;
  }
  return out;
}

const DIGIT = /[0-9]/;
const ALNUM = /[A-Za-z0-9]/;

/**
 * Longest prefix of `text` ending at a significant char, not inside a group of them, whose
 * significant characters pass `ok`. Candidates with fewer than `min` significant characters are
 * rejected before any work: most digit runs in logs are dates and ids.
 */
function longestValidPrefix(
  text: string,
  significant: RegExp,
  min: number,
  ok: (kept: string, prefix: string) => boolean,
): number {
  let kept = '';
  const endAt: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (significant.test(ch)) {
      kept += ch;
      endAt.push(i + 1);
    }
  }
  for (let n = kept.length; n >= min; n--) {
    // The prefix must end where the number ends, not in the middle of a digit group.
    if (n < kept.length && significant.test(text[endAt[n - 1]!] ?? '')) continue;
    if (ok(kept.slice(0, n), text.slice(0, endAt[n - 1]))) return endAt[n - 1]!;
  }
  return 0;
}

/** Separators, if any, must be one kind and never doubled: `4242 4242-4242` is not one number. */
function consistentSeparators(text: string): boolean {
  const seps = text.replace(/[A-Za-z0-9]/g, '');
  return !/(.)(?!\1)./.test(seps) && !/[^A-Za-z0-9]{2}/.test(text);
}

/**
 * Longest prefix of a card candidate that is one card number: one kind of separator, never
 * doubled, 13–19 digits, ending at the end of a digit group, Luhn-valid. A single pass with no
 * allocation per prefix: digit runs are everywhere in logs, so this runs often.
 */
function refineCard(candidate: string): number {
  const digits: number[] = [];
  const endAt: number[] = [];
  let separator = -1;
  let afterSeparator = false;
  for (let i = 0; i < candidate.length; i++) {
    const code = candidate.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      digits.push(code - 48);
      endAt.push(i + 1);
      afterSeparator = false;
      continue;
    }
    // `4242 4242-4242` or `4242  4242` is two numbers, not one.
    if (afterSeparator || (separator !== -1 && code !== separator)) break;
    separator = code;
    afterSeparator = true;
  }
  for (let n = Math.min(digits.length, 19); n >= 13; n--) {
    const end = endAt[n - 1]!;
    if (n < digits.length && endAt[n] === end + 1) continue;
    if (luhnPrefixValid(digits, n)) return end;
  }
  return 0;
}

function luhnPrefixValid(digits: readonly number[], n: number): boolean {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let d = digits[n - 1 - i]!;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export const PII_DETECTORS: readonly PiiDetector[] = [
  {
    kind: 'email',
    pattern: '@[A-Za-z0-9-]{1,63}\\.[A-Za-z0-9.-]{0,190}[A-Za-z]{2,24}(?![A-Za-z0-9-])',
    prefix: { chars: /[A-Za-z0-9._%+-]/, max: 64 },
    refine: (candidate) => candidate.length,
    mask: (match) => {
      const at = match.indexOf('@');
      return `${match.slice(0, 1)}***${match.slice(at)}`;
    },
    maxLength: 345,
    alphabet: /[A-Za-z0-9._%+@-]/,
  },
  {
    kind: 'phone',
    // International (+CC ...) or North American ((555) 123-4567, 555-123-4567) shapes only:
    // a bare run of digits is an id or a count far more often than a phone number.
    pattern:
      '(?<![A-Za-z0-9+])(?:\\+[1-9][0-9 .()-]{6,18}[0-9]|(?:\\([0-9]{3}\\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4})(?![A-Za-z0-9])',
    refine: (candidate) => {
      const digits = candidate.replace(/[^0-9]/g, '').length;
      return digits >= 8 && digits <= 15 ? candidate.length : 0;
    },
    mask: (match) => maskChars(match, DIGIT, 0, 2),
    maxLength: 21,
    alphabet: /[0-9 .()+-]/,
    // `+` and eight more (`+1234567 8`), or `(555)123-4567`, `555-123-4567`.
    minRun: 9,
    // `+1`, `(5` or `55`: a run of dashes and dots (PEM headers, rule lines) runs nothing.
    starts: { chars: [/[+(0-9]/, /[0-9]/, /[0-9 .()-]/], notAfter: /[A-Za-z0-9+]/ },
  },
  {
    kind: 'card',
    // Not followed by a letter either: a hex hash's first 13–19 characters can be all digits.
    // Nor the decimals of a number (`"duration": 6636.2958473901284`).
    pattern: '(?<![0-9A-Za-z-])(?<![0-9][.,])[2-6][0-9][0-9 -]{10,21}[0-9](?![0-9A-Za-z])',
    refine: refineCard,
    mask: (match) => maskChars(match, DIGIT, 0, 4),
    maxLength: 24,
    alphabet: /[0-9 -]/,
    minRun: 13,
    starts: { chars: [/[2-6]/, /[0-9]/, /[0-9 -]/], notAfter: /[0-9A-Za-z-]/ },
  },
  {
    kind: 'iban',
    // The lookbehind after the two letters, not before: the engine then skips ahead to an
    // upper-case letter instead of testing the lookbehind at every position (~10% of this pass).
    pattern: '[A-Z]{2}(?<![A-Za-z0-9][A-Z]{2})[0-9]{2}[A-Z0-9 ]{11,40}(?![A-Za-z0-9])',
    refine: (candidate) =>
      longestValidPrefix(
        candidate,
        ALNUM,
        15,
        (alnum, prefix) => consistentSeparators(prefix) && ibanValid(alnum),
      ),
    mask: (match) => maskChars(match, ALNUM, 2, 4),
    maxLength: 44,
    alphabet: /[A-Z0-9 ]/,
    // Two letters, two digits and eleven more. Runs of [A-Z0-9 ] that long are rare outside
    // upper-case text, and in one the pattern runs only where two letters and a digit start a
    // word: searched through base64 and JSON text instead, it stopped at every upper-case letter.
    minRun: 15,
    starts: { chars: [/[A-Z]/, /[A-Z]/, /[0-9]/], notAfter: /[A-Za-z0-9]/ },
  },
  {
    kind: 'national_id',
    // US SSN (area 000, 666 and 9xx, group 00 and serial 0000 are never issued) and UK NINO.
    // Nothing of [0-9A-Za-z-] before either: checked once its first characters matched (as IBAN's).
    pattern:
      '(?:(?!000|666|9)[0-9]{3}-(?<![0-9A-Za-z-][0-9]{3}-)(?!00)[0-9]{2}-(?!0000)[0-9]{4}|(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z](?<![0-9A-Za-z-][A-Z]{2}) ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D])(?![0-9A-Za-z-])',
    refine: (candidate) => candidate.length,
    mask: (match) => maskChars(match, ALNUM, 0, 4),
    maxLength: 13,
    alphabet: /[0-9A-Z -]/,
    // A NINO is nine long, an SSN eleven. Runs of [0-9A-Z -] nine long are common in base64 and
    // SQL, but a match starts only where the word does, with a digit or a NINO letter.
    minRun: 9,
    starts: {
      chars: [/[0-8A-CEGHJ-PR-TW-Z]/, /[0-9A-CEGHJ-NPR-TW-Z]/, /[0-9 ]/],
      notAfter: /[0-9A-Za-z-]/,
    },
  },
];
