/**
 * A credential-format rule. Rules are anchored: every match starts with one of
 * a few literal `anchors` (a published token prefix such as `ghp_`, or a key
 * name such as `password`), found for all rules at once by the scrubber's
 * Aho–Corasick pass. The pattern then runs once, sticky, at that position —
 * so no rule ever scans the whole text, and each pattern must pass the
 * regex-safety lint (bounded quantifiers, no ambiguous repetition).
 */
export interface SecretRule {
  /** Stable id; the replacement marker is `[REDACTED:<id>]`. */
  readonly id: string;
  readonly description: string;
  /** Literal strings at which a match can start (`before` characters after the match start). */
  readonly anchors: readonly string[];
  /** Match anchors and pattern in any case (the automaton folds ASCII case: `token`, `TOKEN`, `tOkEn`). */
  readonly anyCase?: boolean;
  /** The match starts this many characters before the anchor (a fixed-length prefix). */
  readonly before?: number;
  /** One character of that prefix, so a stream holds back a tail that could be one. */
  readonly beforeChar?: RegExp;
  /** Regex source, run sticky at the match start. */
  readonly pattern: string;
  /**
   * Redact only this capture group (keeps `password=` so a reader sees what was removed). The
   * group must be the last thing the pattern consumes, followed at most by a literal or a
   * lookahead that cannot contain it (`:(pass)@`, `key=(value)`): the engine locates it as
   * the last occurrence of its text in the match.
   */
  readonly group?: number;
  /**
   * A one-character class (regex source): after an accepted match that ends at its value's
   * bound, the redaction continues over following characters of this class.
   */
  readonly extend?: string;
  /**
   * Extra check on the redacted text: entropy, placeholder exclusion. `before`: the character
   * just before it in the text ('' at the start), e.g. the quote that opens a literal.
   */
  readonly accept?: (secret: string, before: string) => boolean;
  /**
   * With `accept`: the same check given the text and the secret's place, `[start, end)`, read in
   * place (no copy of the secret): `acceptIn(input, start, end)` must equal
   * `accept(input.slice(start, end), input[start - 1] ?? '')` (rules.test.ts compares them).
   * The engine calls it instead of `accept` where given: for rules whose candidates can come
   * one every few characters (a page of real keys).
   */
  readonly acceptIn?: (input: string, start: number, end: number) => boolean;
  /**
   * Backslashes that end the redacted value are left out of it: they escape the quote after it
   * (`\"password\": \"…\"`, JSON put in a string), so the text stays as well-formed as it came.
   */
  readonly keepsEscape?: boolean;
  /**
   * How far before its start the pattern's lookbehind may read (a line's start, a table cell's
   * opening tag): a stream that holds a candidate back holds this much before it too, so the
   * next scan sees the context the first one did.
   */
  readonly contextBefore?: number;
  /** A match can contain whitespace (`password = x`, PEM bodies). Streams use it to stop holding early. */
  readonly spaces?: boolean;
  /** With `spaces`: whitespace can occur only in a match's first this-many characters (before the value). */
  readonly spacesWithin?: number;
  /** Longest text a match can span; a stream holds back this much after an anchor. Default 512. */
  readonly maxLength?: number;
}

/** Left boundary: the token does not continue a longer word. */
export const L = '(?<![A-Za-z0-9])';
/** Right boundary for alphanumeric tokens. */
export const R = '(?![A-Za-z0-9])';
/** Right boundary for tokens whose alphabet includes `-` and `_`. */
export const RU = '(?![A-Za-z0-9_-])';

/** One rule per published prefix, for families that differ only in the prefix. */
export function prefixed(
  id: string,
  description: string,
  prefix: string,
  body: string,
  right = R,
): SecretRule {
  return { id, description, anchors: [prefix], pattern: `${L}${escapeRegex(prefix)}${body}${right}` };
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
