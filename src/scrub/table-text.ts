/**
 * The text primitives the table reader (table-cells.ts) reads with: lines, cells, names and rule
 * lines, each on `[start, end)` of the text, allocating nothing but where a pair is returned.
 */
/** `|` when the line holds one, else a tab, else a comma, else a semicolon (a European CSV), else 0. */
export function delimiterOf(input: string, start: number, end: number): number {
  let tab = false;
  let comma = false;
  let semicolon = false;
  for (let i = start; i < end; i++) {
    const code = input.charCodeAt(i);
    if (code === PIPE) return PIPE;
    if (code === TAB) tab = true;
    else if (code === COMMA) comma = true;
    else if (code === SEMICOLON) semicolon = true;
  }
  return tab ? TAB : comma ? COMMA : semicolon ? SEMICOLON : 0;
}

/** A rule line of dash groups and spaces only, two groups at least: an aligned table's. */
export function isAlignedRule(input: string, start: number, end: number): boolean {
  let groups = 0;
  for (let i = start; i < end; i++) {
    const code = input.charCodeAt(i);
    if (code === DASH) {
      if (i === start || input.charCodeAt(i - 1) === SPACE) groups++;
    } else if (code !== SPACE && code !== CR) return false;
  }
  return groups >= 2;
}

/** A header cell's name within `[from, to)`: spaces, quotes, brackets and emphasis off. */
export function nameBounds(input: string, from: number, to: number): [number, number] {
  [from, to] = trimmed(input, from, to);
  while (from < to && NAME_WRAP.has(input.charCodeAt(from))) from++;
  while (to > from && NAME_WRAP.has(input.charCodeAt(to - 1))) to--;
  return [from, to];
}
export const NAME_WRAP = new Set([34, 39, 96, 91, 93, 42, 95]);

/** A column name is no longer than this. */
const MAX_NAME = 48;

/** Letters, digits, `_ . -` and at most two single spaces, at most MAX_NAME: a column's name, not text. */
export function isName(input: string, from: number, to: number): boolean {
  if (to - from > MAX_NAME) return false;
  let spaces = 0;
  for (let i = from; i < to; i++) {
    const code = input.charCodeAt(i);
    if (code === SPACE) {
      if (input.charCodeAt(i + 1) === SPACE || ++spaces > 2) return false;
      continue;
    }
    if (!(NAME_CHAR[code] ?? 0)) return false;
  }
  return true;
}
export const NAME_CHAR = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-')
  NAME_CHAR[c.charCodeAt(0)] = 1;

/** After a CSV field's opening quote: where its closing quote stands (`""` is an escaped one). */
export function closingQuote(input: string, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    if (input.charCodeAt(i) !== DOUBLE_QUOTE) continue;
    if (input.charCodeAt(i + 1) !== DOUBLE_QUOTE) return i;
    i++;
  }
  return end - 1;
}

export function holds(input: string, start: number, end: number, code: number): boolean {
  for (let i = start; i < end; i++) if (input.charCodeAt(i) === code) return true;
  return false;
}

/** Where `code` first stands in `[from, to)`, or -1 (also when `stop` or a line break comes first). */
export function indexWithin(input: string, code: number, from: number, to: number, stop: number): number {
  for (let i = from; i < to; i++) {
    const at = input.charCodeAt(i);
    if (at === code) return i;
    if (at === stop || (at === LF && code === OPEN)) return -1;
  }
  return -1;
}

export function isSpaceOrComma(code: number): boolean {
  return code === COMMA || code === SPACE || code === TAB || code === LF || code === CR;
}

export function skipSpaces(input: string, from: number, end: number): number {
  while (from < end && input.charCodeAt(from) === SPACE) from++;
  return from;
}

export function isSpace(code: number): boolean {
  return code === SPACE || code === TAB || code === CR || code === LF;
}

export function trimmed(input: string, start: number, end: number): [number, number] {
  while (start < end && isSpace(input.charCodeAt(start))) start++;
  while (end > start && isSpace(input.charCodeAt(end - 1))) end--;
  return [start, end];
}

/** A printed table's rule line: dashes (three or more) with `|`, `+`, `:` and spaces. */
export function isRuleLine(input: string, start: number, end: number): boolean {
  let dashes = 0;
  for (let i = start; i < end; i++) {
    const code = input.charCodeAt(i);
    if (code === DASH) dashes++;
    else if (
      code !== PIPE &&
      code !== PLUS &&
      code !== COLON &&
      code !== SPACE &&
      code !== CR &&
      code !== TAB
    )
      return false;
  }
  return dashes >= 3;
}

export function lineStart(input: string, at: number): number {
  return input.lastIndexOf('\n', at - 1) + 1;
}

/** Where the line holding `at` ends, before its `\r\n` or `\n` (or the text's end). */
export function lineEnd(input: string, at: number): number {
  const lf = input.indexOf('\n', at);
  const end = lf < 0 ? input.length : lf;
  return end > at && input.charCodeAt(end - 1) === CR ? end - 1 : end;
}

export function nextLine(input: string, end: number): number {
  const lf = input.indexOf('\n', end);
  return lf < 0 ? input.length : lf + 1;
}

export const TAB = 9;
export const LF = 10;
export const CR = 13;
export const SPACE = 32;
export const DOUBLE_QUOTE = 34;
export const QUOTE = 39;
export const OPEN = 40;
export const CLOSE = 41;
export const PLUS = 43;
export const COMMA = 44;
export const DASH = 45;
export const COLON = 58;
export const SEMICOLON = 59;
export const BACKSLASH = 92;
export const CLOSE_BRACKET = 93;
export const BACKTICK = 96;
export const PIPE = 124;
