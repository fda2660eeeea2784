/**
 * Credentials in a table whose column is named for them (see decoded.ts): a CSV or TSV export
 * (`url,username,password` from a browser or a password manager), a Markdown table, psql's and
 * mysql's printed tables, a SQL `INSERT INTO t (…, password) VALUES (…)` or a `COPY … FROM
 * stdin` block of a dump (keyed-blocks.ts reads blocks under a key named for secrets the same
 * way). The name stands in the header and the value rows below it, so no rule sees the two
 * together, and each went out bare on 541d4e7.
 *
 * Each such cell is one more kind of encoded run: written as `name=value` (the header's name, the
 * cell's value) into the decoded text, where the rules decide on it as on any assignment (the
 * entropy gate, placeholders, names that are not secrets such as `public_key`); a cell that
 * carries a match is redacted whole. Only columns whose name holds one of SECRET_WORDS are read.
 *
 * Found cheaply: a header is looked for only on the text's first line, a line after a blank
 * line, a line above a table's rule line (`---|---`, `----+----`), and after `INSERT INTO` or
 * `COPY`; then rows are read forward until the table ends. A stream sees the header only in the
 * chunk that holds it (its context is 256 characters): rows that arrive later are not read.
 */
import type { DecodedWriter } from './decoded-text.js';

/** A column whose name holds one of these may hold credentials. */
const SECRET_NAME = /pass|pwd|secret|token|key|credential|auth/i;
/** A cell shorter than this holds no credential a rule would take. */
const MIN_CELL = 8;
const MAX_COLUMNS = 64;
const MAX_NAME = 48;
/**
 * Each mark is one native search of the whole text, so they are few and rare in ordinary text: a
 * rule line's dashes (Markdown's `|---|`, psql's `----+----`, mysql's `+----+`), `INSERT INTO`
 * found by its `NTO ` (a search for `INSERT INTO` itself, its letters common, took four times as
 * long), and `COPY `.
 */
const RULE_MARK = '---';
const STATEMENT_MARKS = ['NTO ', 'nto ', 'COPY '];
/** What stands before an `INTO` whose `NTO` was found (the text up to its `I`, at most 32 characters). */
const INSERT_HEAD = /(?:insert|replace)(?:\s+(?:ignore|or\s+[a-z]+))?\s+i$/i;

/** Each cell under a secret-named column, written as `name=value`, its run closed over the cell. */
export function findTableCells(input: string, out: DecodedWriter, locate = false): void {
  const headers: number[] = [0];
  for (let at = input.indexOf('\n\n'); at >= 0; at = input.indexOf('\n\n', at + 2)) headers.push(at + 2);
  for (let at = input.indexOf(RULE_MARK); at >= 0; ) {
    const start = lineStart(input, at);
    const end = lineEnd(input, at);
    if (isRuleLine(input, start, end) && start > 0) headers.push(lineStart(input, start - 1));
    at = input.indexOf(RULE_MARK, end + 1);
  }
  let done = 0;
  if (headers.length > 1) headers.sort((a, b) => a - b);
  for (const header of headers)
    if (header >= done) done = Math.max(done, readTable(input, header, out, locate));
  for (const mark of STATEMENT_MARKS) {
    const copy = mark === 'COPY ';
    for (let at = input.indexOf(mark); at >= 0; at = input.indexOf(mark, at + mark.length))
      if (copy || INSERT_HEAD.test(input.slice(Math.max(0, at - 32), at)))
        readStatement(input, at + mark.length, copy, out, locate);
  }
}

/** The table whose header line starts at `start`: its secret columns' cells written; where it ends. */
function readTable(input: string, start: number, out: DecodedWriter, locate: boolean): number {
  const end = lineEnd(input, start);
  if (end - start > 4096 || !SECRET_NAME.test(input.slice(start, end))) return start;
  const line = input.slice(start, end);
  const delimiter = line.includes('|') ? '|' : line.includes('\t') ? '\t' : ',';
  const names = cells(input, start, end, delimiter);
  if (names.length < 2 || names.length > MAX_COLUMNS) return start;
  const secret: { column: number; name: string }[] = [];
  for (let k = 0; k < names.length; k++) {
    const name = nameOf(input.slice(names[k]![0], names[k]![1]));
    // A header is names, not text: a line of prose with a comma is not a CSV header.
    if (name === undefined) {
      if (names[k]![1] > names[k]![0] || delimiter !== '|') return start;
      continue;
    }
    if (SECRET_NAME.test(name)) secret.push({ column: k, name });
  }
  if (secret.length === 0) return start;
  let row = nextLine(input, end);
  while (row < input.length) {
    const rowEnd = lineEnd(input, row);
    if (isRuleLine(input, row, rowEnd)) {
      row = nextLine(input, rowEnd);
      continue;
    }
    if (!holds(input, row, rowEnd, delimiter.charCodeAt(0))) break;
    const values = cells(input, row, rowEnd, delimiter);
    for (const { column, name } of secret)
      if (column < values.length) cell(input, values[column]!, name, out, locate);
    row = nextLine(input, rowEnd);
  }
  return row;
}

/**
 * `INSERT INTO t (cols) VALUES (…), (…)` or `COPY t (cols) FROM stdin;` and its tab-separated
 * rows to `\.`, from just after the keyword.
 */
function readStatement(
  input: string,
  from: number,
  copy: boolean,
  out: DecodedWriter,
  locate: boolean,
): void {
  const open = input.indexOf('(', from);
  if (open < 0 || open - from > 200 || input.slice(from, open).includes(';')) return;
  const close = input.indexOf(')', open);
  if (close < 0 || close - open > 4096) return;
  const columns = cells(input, open + 1, close, ',');
  const secret: { column: number; name: string }[] = [];
  for (let k = 0; k < columns.length && k < MAX_COLUMNS; k++) {
    const name = nameOf(input.slice(columns[k]![0], columns[k]![1]));
    if (name === undefined) return;
    if (SECRET_NAME.test(name)) secret.push({ column: k, name });
  }
  if (secret.length === 0) return;
  if (copy) {
    const head = lineEnd(input, close);
    if (!/^\s*FROM\s+stdin/i.test(input.slice(close + 1, head))) return;
    for (let row = nextLine(input, head); row < input.length; ) {
      const rowEnd = lineEnd(input, row);
      if (input.startsWith('\\.', row) || rowEnd === row) break;
      const values = cells(input, row, rowEnd, '\t');
      for (const { column, name } of secret)
        if (column < values.length) cell(input, values[column]!, name, out, locate);
      row = nextLine(input, rowEnd);
    }
    return;
  }
  const values = /^\s*VALUES\s*/i.exec(input.slice(close + 1, close + 64));
  if (!values) return;
  let at = close + 1 + values[0].length;
  while (input.charCodeAt(at) === OPEN) {
    const tuple = sqlTuple(input, at + 1);
    if (tuple === undefined) return;
    for (const { column, name } of secret)
      if (column < tuple.cells.length) cell(input, tuple.cells[column]!, name, out, locate);
    at = tuple.end;
    while (at < input.length && /[\s,]/.test(input[at]!)) at++;
  }
}

/** A SQL tuple's top-level values from after its `(`: quoted strings (`''` and `\'` kept), calls nested. */
function sqlTuple(input: string, from: number): { cells: [number, number][]; end: number } | undefined {
  const found: [number, number][] = [];
  let start = from;
  let depth = 0;
  for (let i = from; i < input.length && i - from < 65_536; i++) {
    const code = input.charCodeAt(i);
    if (code === QUOTE) {
      for (i++; i < input.length; i++) {
        const inner = input.charCodeAt(i);
        if (inner === BACKSLASH) i++;
        else if (inner === QUOTE) {
          if (input.charCodeAt(i + 1) !== QUOTE) break;
          i++;
        }
      }
    } else if (code === OPEN) depth++;
    else if (code === CLOSE && depth > 0) depth--;
    else if ((code === COMMA || code === CLOSE) && depth === 0) {
      found.push(trimmed(input, start, i));
      if (code === CLOSE) return { cells: found, end: i + 1 };
      start = i + 1;
    }
  }
  return undefined;
}

/** A cell's value (its quotes off) written as `name=value`, the run closed over the cell. */
export function cell(
  input: string,
  [start, end]: [number, number],
  name: string,
  out: DecodedWriter,
  locate: boolean,
): void {
  let from = start;
  let to = end;
  const first = input.charCodeAt(from);
  if (
    to - from >= 2 &&
    (first === QUOTE || first === DOUBLE_QUOTE || first === BACKTICK) &&
    input.charCodeAt(to - 1) === first
  ) {
    from++;
    to--;
  }
  if (to - from < MIN_CELL) return;
  if (locate) {
    out.close(start, end, true);
    return;
  }
  out.string(`${name}=`);
  out.string(input.slice(from, to));
  out.close(start, end);
}

/** A header cell as a name (quotes, brackets and spaces off, inner spaces as `_`); undefined if it is not one. */
export function nameOf(raw: string): string | undefined {
  const name = raw.trim().replace(/^["'`[*_]+|["'`\]*_]+$/g, '');
  if (name.length === 0 || name.length > MAX_NAME || /[^A-Za-z0-9_. -]/.test(name) || /\s{2}/.test(name))
    return undefined;
  return name.replace(/[ .-]+/g, '_');
}

/** The cells of `[start, end)` split at `delimiter`, each trimmed; CSV's quoted fields kept whole. */
function cells(input: string, start: number, end: number, delimiter: string): [number, number][] {
  const found: [number, number][] = [];
  const mark = delimiter.charCodeAt(0);
  let from = start;
  for (let i = start; i <= end; i++) {
    const code = i < end ? input.charCodeAt(i) : mark;
    if (code === DOUBLE_QUOTE && mark === COMMA && i === skipSpaces(input, from, end)) {
      for (i++; i < end; i++) {
        if (input.charCodeAt(i) !== DOUBLE_QUOTE) continue;
        if (input.charCodeAt(i + 1) !== DOUBLE_QUOTE) break;
        i++;
      }
      continue;
    }
    if (code === mark) {
      found.push(trimmed(input, from, i));
      if (found.length > MAX_COLUMNS) return found;
      from = i + 1;
    }
  }
  return found;
}

function holds(input: string, start: number, end: number, code: number): boolean {
  for (let i = start; i < end; i++) if (input.charCodeAt(i) === code) return true;
  return false;
}

export function skipSpaces(input: string, from: number, end: number): number {
  while (from < end && input.charCodeAt(from) === SPACE) from++;
  return from;
}

export function trimmed(input: string, start: number, end: number): [number, number] {
  while (start < end && /\s/.test(input[start]!)) start++;
  while (end > start && /\s/.test(input[end - 1]!)) end--;
  return [start, end];
}

/** A printed table's rule line: dashes (three or more) with `|`, `+`, `:` and spaces. */
function isRuleLine(input: string, start: number, end: number): boolean {
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

const TAB = 9;
const CR = 13;
const SPACE = 32;
const DOUBLE_QUOTE = 34;
const QUOTE = 39;
const OPEN = 40;
const CLOSE = 41;
const PLUS = 43;
const COMMA = 44;
const DASH = 45;
const COLON = 58;
const BACKSLASH = 92;
const BACKTICK = 96;
const PIPE = 124;
