/**
 * Credentials in a block under a key named for secrets, each child named otherwise: a YAML block
 * (`secrets:` then `github: …` or `- …`) and an INI or TOML section (`[credentials]` then `prod =
 * …`). The name that says what the values are stands lines away from each of them, so no rule
 * sees the two together. Read as table-cells.ts reads a column, by the same reader and in the
 * same pass: each child's value is a run written as `secret=value` (the key made singular, as the
 * rules' names are), for the rules' own gates to decide. A child's value that reads as words
 * joined (SLUG_LIKE) is left: under a block its own name does not say it is a secret.
 *
 * Linear: a block is looked for only at a line that ends in `:` and a line that starts with `[`,
 * each found by the reader's native searches; whether its key names secrets is asked of one
 * global regex run lazily ahead (at most one pass over the text, and none over a text with no
 * such line), before anything is copied; a block's lines are read once, past the reader's cursor.
 * Not read: a JSON or HCL object under such a key (`"secrets": {"github": "…"}`).
 */
import { isName, isSpace, lineEnd, lineStart, nameBounds, nextLine, skipSpaces } from './table-text.js';

/** What the block reader needs of the table reader: the text, its cursor, its cell writer. */
export interface CellReader {
  readonly input: string;
  /** Everything before this was read. */
  done: number;
  /** `[start, end)` written as `prefix` + its value; `leaveWords`: not when the value reads as words joined. */
  cell(start: number, end: number, prefix: string, leaveWords?: boolean): void;
}

/**
 * A block whose children may all be secrets. Not `tokens` (an LLM config's limits and model names
 * sit under it) nor bare `keys` or `auth` (whose children name themselves).
 */
const BLOCK_NAME = /secret|passw|credential|api[_-]?keys?$|access[_-]?keys?$/i;
/** BLOCK_NAME's words, anywhere: searched for lazily ahead of the reader. */
const BLOCK_WORD = /secret|passw|credential|api[_-]?key|access[_-]?key/gi;
/**
 * Words or numbers joined by separators (`acme-prod`, `service_account`, `gpt-4o-mini-2024-07-18`):
 * a block's child named otherwise is a setting as often as a secret, so such a value is left.
 */
const SLUG_LIKE =
  /^(?:[A-Za-z]+|[0-9]+|[A-Za-z0-9]{1,4})(?:[-_.:/@ ](?:[A-Za-z]+|[0-9]+|[A-Za-z0-9]{1,4}))*$/;
/** A file's path (`./db_password.txt`, `/run/secrets/db`): where a secret is kept, not the secret. */
const PATH_LIKE = /^(?:\.{0,2}|~)\/[\w./-]+$/;

/** A block's child value that reads as a setting (words joined, a path): left, its name saying nothing. */
export function readsAsSetting(value: string): boolean {
  return SLUG_LIKE.test(value) || PATH_LIKE.test(value);
}
/** A section header longer than this is not one. */
const MAX_SECTION = 80;
/** A YAML key longer than this is not one. */
const MAX_KEY = 64;

export class KeyedBlocks {
  /** Where the first block word at or after the last place asked about starts (`Infinity`: none). */
  private wordAt = -1;

  constructor(private readonly reader: CellReader) {}

  /** A YAML block whose key's colon ends the line at `colon`. */
  yaml(colon: number): void {
    const reader = this.reader;
    const input = reader.input;
    if (colon < reader.done) return;
    const start = lineStart(input, colon);
    if (colon - start > MAX_KEY + 16 || !this.wordWithin(start, colon)) return;
    const indent = skipSpaces(input, start, colon) - start;
    let keyFrom = start + indent;
    if (input.startsWith('- ', keyFrom)) keyFrom += 2;
    const [a, b] = nameBounds(input, keyFrom, colon);
    if (a === b || !isName(input, a, b)) return;
    const key = input.slice(a, b);
    if (!BLOCK_NAME.test(key)) return;
    const prefix = singular(key);
    let row = nextLine(input, colon);
    while (row < input.length) {
      const end = lineEnd(input, row);
      const from = skipSpaces(input, row, end);
      if (from < end) {
        if (from - row <= indent) break;
        // A list item is a value, or a map of its own (`- db: …`).
        const dash = input.startsWith('- ', from);
        const named = valueAfter(input, dash ? from + 2 : from, end, COLON, true);
        const item = named >= 0 || !dash ? named : from + 2;
        const value = item < 0 ? end : skipSpaces(input, item, end);
        if (value < end && !BLOCK_VALUE_START.has(input.charCodeAt(value)))
          reader.cell(value, end, prefix, true);
      }
      row = nextLine(input, end);
    }
    reader.done = Math.max(reader.done, row);
  }

  /** An INI or TOML section, if the line at `start` is its header (`[name]`). */
  section(start: number): void {
    const reader = this.reader;
    const input = reader.input;
    if (start < reader.done || input.charCodeAt(start) !== OPEN_BRACKET) return;
    const end = lineEnd(input, start);
    if (end - start > MAX_SECTION) return;
    let close = end - 1;
    while (close > start && input.charCodeAt(close) !== CLOSE_BRACKET) close--;
    if (close <= start || !this.wordWithin(start, close)) return;
    const key = input
      .slice(start + 1, close)
      .replace(/^.*\./, '')
      .trim();
    if (!BLOCK_NAME.test(key) || !/^[A-Za-z0-9_ "'-]+$/.test(key)) return;
    const prefix = singular(key.replace(/["']/g, ''));
    let row = nextLine(input, end);
    while (row < input.length && input.charCodeAt(row) !== OPEN_BRACKET) {
      const rowEnd = lineEnd(input, row);
      const from = skipSpaces(input, row, rowEnd);
      const code = input.charCodeAt(from);
      if (from < rowEnd && code !== HASH && code !== SEMICOLON) {
        const value = valueAfter(input, from, rowEnd, EQUALS, false);
        if (value >= 0) reader.cell(skipSpaces(input, value, rowEnd), rowEnd, prefix, true);
      }
      row = nextLine(input, rowEnd);
    }
    reader.done = Math.max(reader.done, row);
  }

  /** Whether a block word starts in `[start, end)` (the global search runs at most once over the text). */
  private wordWithin(start: number, end: number): boolean {
    if (this.wordAt < start) {
      BLOCK_WORD.lastIndex = start;
      const found = BLOCK_WORD.exec(this.reader.input);
      this.wordAt = found ? found.index : Number.POSITIVE_INFINITY;
    }
    return this.wordAt < end;
  }
}

/** The key made singular, as the rules' names are, then `=`: `api_keys` → `api_key=`. */
function singular(key: string): string {
  return `${key.replace(/[ .-]+/g, '_').replace(/(key|token|secret|password|credential)s$/i, '$1')}=`;
}

/**
 * After a child's name (letters, digits, `_ . -`, at most 64) and its separator (`: ` in YAML, `=`
 * or `:` in INI, spaces around): where its value starts, or -1 when the line is not such a child.
 */
function valueAfter(input: string, from: number, end: number, separator: number, yaml: boolean): number {
  let i = from;
  while (i < end && i - from <= MAX_KEY && KEY_CHAR[input.charCodeAt(i)] === 1) i++;
  if (i === from || i - from > MAX_KEY) return -1;
  while (i < end && input.charCodeAt(i) === SPACE) i++;
  const code = input.charCodeAt(i);
  if (yaml) return code === separator && isSpace(input.charCodeAt(i + 1)) ? i + 2 : -1;
  return code === EQUALS || code === COLON ? i + 1 : -1;
}
const KEY_CHAR = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"\'')
  KEY_CHAR[c.charCodeAt(0)] = 1;
/** A YAML value that starts a nested block, a flow collection, an anchor, an alias or a tag. */
const BLOCK_VALUE_START = new Set(['|', '>', '{', '[', '&', '*', '!', '#'].map((c) => c.charCodeAt(0)));

const SPACE = 32;
const HASH = 35;
const COLON = 58;
const SEMICOLON = 59;
const EQUALS = 61;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
