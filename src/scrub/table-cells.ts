/**
 * Credentials in a table whose column is named for them: a CSV or TSV export (`url,username,
 * password` from a browser or a password manager), a Markdown table, psql's and mysql's printed
 * tables, a SQL `INSERT INTO t (…, password) VALUES (…)` or a `COPY … FROM stdin` block of a dump.
 * The name stands in the header and the value rows below it, so no rule sees the two together.
 *
 * Each such cell is one more kind of encoded run (decoded.ts): written as `name=value` (the
 * header's name, the cell's value) into the decoded text, where the rules decide on it as on any
 * assignment (the entropy gate, placeholders, names that are not secrets such as `public_key`); a
 * cell that carries a match is redacted whole.
 *
 * Linear, whatever the text: a header is looked for only where a table starts (the text's first
 * line, a line after a blank line, the line above a rule line such as `---|---` or `----+----`),
 * an INSERT only at its `VALUES` and a COPY at its keyword, each found by a native search of a
 * needle whose first character is rare in prose; a place is read forward once, past a cursor
 * (`done`) of everything already read, and an INSERT's column list is read back no further than
 * the `VALUES` before it, so nothing is read twice whatever repeats (nested `INSERT … VALUES (`,
 * `COPY` blocks over one another, a blank line per header). Nothing is allocated per row. A
 * stream sees a header only in the chunk that holds it (its context is the current line): rows
 * that arrive in later chunks are not read.
 */
import type { DecodedWriter } from './decoded-text.js';
import { type CellReader, KeyedBlocks, readsAsSetting } from './keyed-blocks.js';
import {
  BACKSLASH,
  BACKTICK,
  CLOSE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  CR,
  closingQuote,
  DASH,
  DOUBLE_QUOTE,
  delimiterOf,
  holds,
  indexWithin,
  isAlignedRule,
  isName,
  isRuleLine,
  isSpace,
  isSpaceOrComma,
  LF,
  lineEnd,
  lineStart,
  nameBounds,
  nextLine,
  OPEN,
  PIPE,
  QUOTE,
  SEMICOLON,
  skipSpaces,
  TAB,
} from './table-text.js';

/** A column whose name holds one of these may hold credentials. */
const SECRET_NAME = /pass|pwd|secret|token|key|credential|auth/i;
/** A cell shorter than this holds no credential a rule would take. */
const MIN_CELL = 8;
const MAX_COLUMNS = 64;
/** A header line or a statement's column list longer than this is not one. */
const MAX_HEADER = 4096;
/** A SQL tuple longer than this is not read (a blob); the statement's reading stops there. */
const MAX_TUPLE = 65_536;
/** How far past `COPY ` its column list's `(` may stand (a table name between). */
const COPY_OPEN = 200;

/** What stands before an INSERT's column list (at most 200 characters back, to the previous VALUES). */
const INSERT_HEAD = /(?:insert|replace)(?:\s+(?:ignore|or\s+[a-z]+))?\s+into\s+[\w."`[\]-]+\s*$/i;
const FROM_STDIN = /^\s*FROM\s+stdin\s*;?\s*$/i;

/**
 * A line break where a place to read may start: after a line that ends in `:` (`Contents of
 * users.csv:`, a YAML block's key) or `]` (an INI or TOML section's header), or before a blank
 * line. Found by one walk over the line breaks: searching for `\n\n`, `:\n` and `]\n` apart
 * stopped at every colon of logs and JSON and at every line break of short lines, each search.
 */
const LINE = '\n';
const RULE = '---';
const VALUES_UPPER = 'VALUES';
const VALUES_LOWER = 'values';
const COPY = 'COPY ';
/** psql's expanded display (`\\x`): each record a block of `name | value` lines. */
const RECORD = 'RECORD';
/**
 * What stands before RECORD on a record's line, and after it. Searched for by RECORD alone: a `-`
 * starts many words, and V8 searched for a needle of seven characters or more (`RECORD `) 15
 * times slower than for six in ordinary text (0.50 vs 0.03 ms per MiB).
 */
const RECORD_LEAD = '-[ ';
const RECORD_TAIL = ' ';

/**
 * Where the searches for the keywords may start (in the order of `read`'s marks): no hit before
 * it can be read. An INSERT's VALUES has its column list's `)` before it, a COPY a `(` at most
 * COPY_OPEN characters after it, a psql RECORD the `[` of its `-[ ` before it. Each is found by a
 * search for one character, which stops at once in text that has it; in text that has none (a
 * MIME body: 1 MiB of base64) the keyword is not searched for at all, where V8 stopped at each of
 * its first letter's 16,000 occurrences (0.66 ms per MiB for the four). A skipped hit would have
 * read nothing and changed nothing but `lastValues`, which only bounds how far back a later
 * INSERT's column list is read.
 */
function keywordStarts(input: string): [values: number, copy: number, record: number] {
  const after = (char: string) => {
    const at = input.indexOf(char);
    return at < 0 ? input.length : at + 1;
  };
  const open = input.indexOf('(');
  const copy = open < 0 ? input.length : Math.max(0, open - COPY.length - COPY_OPEN);
  return [after(')'), copy, after('[')];
}

/** The columns of the header being read: for each, `name=` when it is named for a secret (scratch). */
const prefixes: (string | undefined)[] = new Array(MAX_COLUMNS + 1).fill(undefined);
/** An aligned table's columns: where each starts in its line (scratch, as `prefixes`). */
const columnAt = new Int32Array(MAX_COLUMNS + 2);

/** Each cell under a secret-named column, written as `name=value`, its run closed over the cell. */
export function findTableCells(input: string, out: DecodedWriter, locate = false): void {
  new TableReader(input, out, locate).read();
}

class TableReader implements CellReader {
  /** Everything before this was read: no mark before it is looked at again. */
  done = 0;
  /** Lines before this were tried as headers (a statement may still start in them). */
  private tried = 0;
  /** Where the last VALUES keyword stood: an INSERT's column list is read back no further. */
  private lastValues = 0;

  private readonly blocks = new KeyedBlocks(this);

  constructor(
    readonly input: string,
    private readonly out: DecodedWriter,
    private readonly locate: boolean,
  ) {}

  read(): void {
    const input = this.input;
    this.header(0);
    const marks = [LINE, RULE, VALUES_UPPER, VALUES_LOWER, COPY, RECORD];
    const [values, copy, record] = keywordStarts(input);
    const next = [
      this.nextLineMark(0),
      input.indexOf(RULE),
      input.indexOf(VALUES_UPPER, values),
      input.indexOf(VALUES_LOWER, values),
      input.indexOf(COPY, copy),
      input.indexOf(RECORD, record),
    ];
    for (;;) {
      let which = -1;
      for (let k = 0; k < marks.length; k++) {
        const at = next[k]!;
        if (at >= 0 && (which < 0 || at < next[which]!)) which = k;
      }
      if (which < 0) return;
      const mark = marks[which]!;
      const at = next[which]!;
      let from = this.done;
      if (mark === LINE) {
        this.lineBreak(at);
        next[which] = this.nextLineMark(Math.max(this.done, at + 1));
        continue;
      }
      if (mark === RULE) {
        this.ruleLine(at);
        from = this.tried;
      } else if (mark === COPY) this.copy(at + mark.length);
      else if (mark === RECORD) this.record(at);
      else this.insert(at);
      next[which] = input.indexOf(mark, Math.max(this.done, from, at + mark.length));
    }
  }

  /** The next line break at or after `from` where a place to read may start (see LINE), or -1. */
  private nextLineMark(from: number): number {
    const input = this.input;
    for (let at = input.indexOf(LINE, from); at >= 0; at = input.indexOf(LINE, at + 1)) {
      const before = input.charCodeAt(at - 1) === CR ? input.charCodeAt(at - 2) : input.charCodeAt(at - 1);
      if (before === COLON || before === CLOSE_BRACKET) return at;
      const after = input.charCodeAt(at + 1);
      if (after === LF || (after === CR && input.charCodeAt(at + 2) === LF)) return at;
    }
    return -1;
  }

  /** What may start at the line break at `at`: a block or a section above it, a table below. */
  private lineBreak(at: number): void {
    const input = this.input;
    const end = input.charCodeAt(at - 1) === CR ? at - 1 : at;
    const before = input.charCodeAt(end - 1);
    if (before === COLON) this.blocks.yaml(end - 1);
    else if (before === CLOSE_BRACKET) this.blocks.section(lineStart(input, end - 1));
    // The line below a colon line, or after a blank line, may be a table's header.
    if (before === COLON) this.header(at + 1);
    const after = input.charCodeAt(at + 1) === CR ? at + 2 : at + 1;
    if (input.charCodeAt(after) === LF) this.header(after + 1);
  }

  /** A rule line at `at`: the line above it may be a header. */
  private ruleLine(at: number): void {
    const input = this.input;
    const start = lineStart(input, at);
    let end = lineEnd(input, at);
    if (start > 0 && isRuleLine(input, start, end)) {
      this.header(lineStart(input, start - 1));
      // The rule lines that follow are no header's: passed over here, not one search each.
      for (let line = nextLine(input, end); line < input.length; line = nextLine(input, end)) {
        const lineStop = lineEnd(input, line);
        if (!isRuleLine(input, line, lineStop)) break;
        end = lineStop;
      }
    }
    // The rule line's dashes are read: the search goes on after them, not at each `---` in them.
    this.tried = Math.max(this.tried, end);
  }

  /** The table whose header line may start at `start`: its secret columns' cells written. */
  private header(start: number): void {
    if (start < this.done || start < this.tried || start >= this.input.length) return;
    const input = this.input;
    const end = lineEnd(input, start);
    this.tried = end;
    if (end - start > MAX_HEADER) return;
    const below = nextLine(input, end);
    const belowEnd = lineEnd(input, below);
    if (isAlignedRule(input, below, belowEnd)) {
      if (SECRET_NAME.test(input.slice(start, end))) this.aligned(start, end, below, belowEnd);
      return;
    }
    const delimiter = delimiterOf(input, start, end);
    if (delimiter === 0) return;
    // A header has a row or a rule line below it: checked before the header is read.
    if (!isRuleLine(input, below, belowEnd) && !holds(input, below, belowEnd, delimiter)) return;
    if (!SECRET_NAME.test(input.slice(start, end))) return;
    const columns = this.columns(start, end, delimiter, true);
    if (columns === 0) return;
    let row = below;
    while (row < input.length) {
      const rowEnd = lineEnd(input, row);
      if (!isRuleLine(input, row, rowEnd)) {
        if (!this.row(row, rowEnd, delimiter, columns)) break;
      }
      row = nextLine(input, rowEnd);
    }
    this.done = Math.max(this.done, row);
    this.tried = Math.max(this.tried, row);
  }

  /**
   * A table whose columns are aligned under a rule line of dash groups (sqlite3's `.mode column`,
   * `az … -o table`, sqlcmd): each column spans its group's start to the next group's; rows run
   * to a blank line.
   */
  private aligned(start: number, end: number, rule: number, ruleEnd: number): void {
    const input = this.input;
    let count = 0;
    for (let i = rule; i < ruleEnd && count <= MAX_COLUMNS; i++)
      if (input.charCodeAt(i) === DASH && (i === rule || input.charCodeAt(i - 1) !== DASH))
        columnAt[count++] = i - rule;
    if (count < 2 || count > MAX_COLUMNS) return;
    columnAt[count] = MAX_HEADER;
    let named = 0;
    let secret = 0;
    for (let k = 0; k < count; k++) {
      prefixes[k] = undefined;
      const from = start + columnAt[k]!;
      const [a, b] = nameBounds(input, Math.min(from, end), Math.min(start + columnAt[k + 1]!, end));
      if (a === b) continue;
      if (!isName(input, a, b)) return;
      named++;
      prefixes[k] = secretPrefix(input.slice(a, b));
      if (prefixes[k] !== undefined) secret++;
    }
    if (named < 2 || secret === 0) return;
    let row = nextLine(input, ruleEnd);
    while (row < input.length) {
      const rowEnd = lineEnd(input, row);
      if (rowEnd === row) break;
      for (let k = 0; k < count; k++) {
        const prefix = prefixes[k];
        const from = row + columnAt[k]!;
        if (prefix !== undefined && from < rowEnd)
          this.cell(from, Math.min(row + columnAt[k + 1]!, rowEnd), prefix);
      }
      row = nextLine(input, rowEnd);
    }
    this.done = Math.max(this.done, row);
    this.tried = Math.max(this.tried, row);
  }

  /** psql's expanded record from the RECORD of its `-[ RECORD n ]` line at `at`: each `name | value` line to a blank one. */
  private record(at: number): void {
    const input = this.input;
    if (
      at < this.done ||
      !input.startsWith(RECORD_LEAD, at - RECORD_LEAD.length) ||
      !input.startsWith(RECORD_TAIL, at + RECORD.length)
    )
      return;
    let line = nextLine(input, lineEnd(input, at));
    while (line < input.length) {
      const end = lineEnd(input, line);
      if (end === line || input.startsWith(RECORD_LEAD + RECORD + RECORD_TAIL, line)) break;
      const bar = indexWithin(input, PIPE, line, end, -1);
      if (bar < 0) break;
      const [a, b] = nameBounds(input, line, bar);
      if (a < b && isName(input, a, b)) {
        const prefix = secretPrefix(input.slice(a, b));
        if (prefix !== undefined) this.cell(bar + 1, end, prefix);
      }
      line = nextLine(input, end);
    }
    this.done = Math.max(this.done, line);
  }

  /**
   * The header's cells split at `delimiter` into the scratch columns, each a name (quotes,
   * brackets and spaces off); their count, or 0 when it is not a header naming a secret column.
   */
  private columns(start: number, end: number, delimiter: number, table: boolean): number {
    const input = this.input;
    let count = 0;
    let named = 0;
    let secret = 0;
    let from = start;
    for (let i = start; i <= end; i++) {
      if (i < end && input.charCodeAt(i) !== delimiter) continue;
      if (count > MAX_COLUMNS) return 0;
      const [a, b] = nameBounds(input, from, i);
      from = i + 1;
      prefixes[count] = undefined;
      count++;
      if (a === b) {
        // Markdown's and mysql's rows start and end with `|`: an empty first and last cell.
        if (!table || delimiter !== PIPE) return 0;
        continue;
      }
      if (!isName(input, a, b)) return 0;
      named++;
      prefixes[count - 1] = secretPrefix(input.slice(a, b));
      if (prefixes[count - 1] !== undefined) secret++;
    }
    // A table's header names two columns at least (prose has one comma); a statement's may name one.
    return (named >= 2 || !table) && secret > 0 ? count : 0;
  }

  /** One row's secret cells written; false when the line is not a row of the table. */
  private row(start: number, end: number, delimiter: number, columns: number): boolean {
    const input = this.input;
    if (start === end) return false;
    let column = 0;
    let from = start;
    let any = false;
    for (let i = start; i <= end; i++) {
      const code = i < end ? input.charCodeAt(i) : delimiter;
      if (code === DOUBLE_QUOTE && delimiter !== PIPE && i === skipSpaces(input, from, end)) {
        i = closingQuote(input, i + 1, end);
        continue;
      }
      if (code !== delimiter) continue;
      if (i < end) any = true;
      if (column < columns) {
        const prefix = prefixes[column];
        if (prefix !== undefined) this.cell(from, i, prefix);
      }
      column++;
      from = i + 1;
    }
    return any;
  }

  /**
   * `INSERT INTO t (cols) VALUES (…), (…)`, from its `VALUES` at `at`: the column list read back
   * from there (no further than the previous `VALUES`), the tuples forward.
   */
  private insert(at: number): void {
    const input = this.input;
    const floor = Math.max(this.done, this.lastValues, at - MAX_HEADER);
    this.lastValues = at;
    let close = at - 1;
    while (close >= floor && isSpace(input.charCodeAt(close))) close--;
    if (close < floor || input.charCodeAt(close) !== CLOSE) return;
    let open = close - 1;
    for (; open >= floor; open--) {
      const code = input.charCodeAt(open);
      if (code === OPEN) break;
      if (code === CLOSE || code === SEMICOLON) return;
    }
    if (open < floor || !INSERT_HEAD.test(input.slice(Math.max(floor, open - 200), open))) return;
    const columns = this.secretColumns(open, close);
    if (columns === 0) return;
    let next = at + VALUES_UPPER.length;
    while (isSpace(input.charCodeAt(next))) next++;
    while (input.charCodeAt(next) === OPEN) {
      const end = this.tuple(next + 1, columns);
      this.done = Math.max(this.done, Math.abs(end));
      if (end < 0) return;
      next = end;
      while (next < input.length && isSpaceOrComma(input.charCodeAt(next))) next++;
    }
    this.done = Math.max(this.done, next);
  }

  /** `COPY t (cols) FROM stdin;` and its tab-separated rows to `\\.`, from just after `COPY `. */
  private copy(from: number): void {
    if (from < this.done) return;
    const input = this.input;
    // Read no further than the next COPY: each keyword's reading ends where the next one's starts.
    const following = input.indexOf(COPY, from);
    const limit = following < 0 ? input.length : following;
    const open = indexWithin(input, OPEN, from, Math.min(limit, from + COPY_OPEN), SEMICOLON);
    if (open < 0) return;
    const close = indexWithin(input, CLOSE, open + 1, Math.min(limit, open + MAX_HEADER), OPEN);
    if (close < 0) return;
    const columns = this.secretColumns(open, close);
    if (columns === 0) return;
    const head = lineEnd(input, close);
    if (!FROM_STDIN.test(input.slice(close + 1, head))) return;
    let row = nextLine(input, head);
    while (row < input.length && !input.startsWith('\\.', row)) {
      const rowEnd = lineEnd(input, row);
      if (!this.row(row, rowEnd, TAB, columns)) break;
      row = nextLine(input, rowEnd);
    }
    this.done = Math.max(this.done, row);
  }

  /** A statement's column list `(…)` between `open` and `close`, read as a header's cells. */
  private secretColumns(open: number, close: number): number {
    if (!SECRET_NAME.test(this.input.slice(open, close))) return 0;
    return this.columns(open + 1, close, COMMA, false);
  }

  /**
   * A SQL tuple's top-level values from after its `(` (quoted strings with `''` and `\'`, calls
   * nested), its secret cells written; where it ended, or minus where reading stopped: at a `;` or
   * a blank line outside quotes (a tuple left open ends with its statement), or MAX_TUPLE on.
   */
  private tuple(from: number, columns: number): number {
    const input = this.input;
    const limit = Math.min(input.length, from + MAX_TUPLE);
    let start = from;
    let depth = 0;
    let column = 0;
    for (let i = from; i < limit; i++) {
      const code = input.charCodeAt(i);
      if (code === QUOTE) {
        for (i++; i < limit; i++) {
          const inner = input.charCodeAt(i);
          if (inner === BACKSLASH) i++;
          else if (inner === QUOTE) {
            if (input.charCodeAt(i + 1) !== QUOTE) break;
            i++;
          }
        }
      } else if (code === OPEN) depth++;
      else if (code === SEMICOLON || (code === LF && input.charCodeAt(i + 1) === LF)) return -i;
      else if (code === CLOSE && depth > 0) depth--;
      else if ((code === COMMA || code === CLOSE) && depth === 0) {
        const prefix = column < columns ? prefixes[column] : undefined;
        if (prefix !== undefined) this.cell(start, i, prefix);
        column++;
        if (code === CLOSE) return i + 1;
        start = i + 1;
      }
    }
    return -limit;
  }

  /** A cell's value (spaces and its quotes off) written as `name=value`, the run closed over the cell. */
  cell(start: number, end: number, prefix: string, leaveWords = false): void {
    const input = this.input;
    while (start < end && isSpace(input.charCodeAt(start))) start++;
    while (end > start && isSpace(input.charCodeAt(end - 1))) end--;
    let from = start;
    let to = end;
    const first = input.charCodeAt(from);
    if (to - from >= 2 && (first === QUOTE || first === DOUBLE_QUOTE || first === BACKTICK)) {
      if (input.charCodeAt(to - 1) === first) {
        from++;
        to--;
      }
    }
    if (to - from < MIN_CELL || (leaveWords && readsAsSetting(input.slice(from, to)))) return;
    if (this.locate) {
      this.out.close(start, end, true);
      return;
    }
    this.out.string(prefix);
    this.out.string(input, from, to);
    this.out.close(start, end);
  }
}

/** `name=` (inner spaces, dots and dashes as `_`) for a column named for a secret, else undefined. */
function secretPrefix(name: string): string | undefined {
  return SECRET_NAME.test(name) ? `${name.replace(/[ .-]+/g, '_')}=` : undefined;
}
