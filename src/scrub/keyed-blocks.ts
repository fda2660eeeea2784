/**
 * Credentials in a block under a key named for secrets, each child named otherwise (see
 * decoded.ts): a YAML block (`secrets:` then `github: …` or `- …`) and an INI or TOML section
 * (`[credentials]` then `prod = …`). The name that says what the values are stands lines or keys
 * away from each of them, so no rule sees the two together; each went out bare on dcdf827. Read
 * as table-cells.ts reads a column: each child's value is a run written as `secret=value` (the
 * key made singular, as the rules' names are), for the rules' own gates to decide.
 *
 * Found by native searches for a line that ends in `:` and a line that starts with `[`; a block's
 * key is then read back and tested before anything else is read. A child's value that reads as
 * words joined (SLUG_LIKE) is left: under a block its own name does not say it is a secret. Not read: a JSON or HCL object under such a key (`"secrets": {"github": "…"}`):
 * a search for `: {` alone cost ordinary text about 5% of its scrub.
 */
import type { DecodedWriter } from './decoded-text.js';
import {
  lineEnd,
  lineStart,
  nameOf,
  nextLine,
  skipSpaces,
  trimmed,
  cell as writeCell,
} from './table-cells.js';

/**
 * A block whose children may all be secrets. Not `tokens` (an LLM config's limits and model names
 * sit under it) nor bare `keys` or `auth` (whose children name themselves).
 */
const BLOCK_NAME = /secret|passw|credential|api[_-]?keys?$|access[_-]?keys?$/i;
/**
 * Words or numbers joined by separators (`acme-prod`, `service_account`, `gpt-4o-mini-2024-07-18`):
 * a block's child named otherwise is a setting as often as a secret, so such a value is left.
 */
const SLUG_LIKE =
  /^(?:[A-Za-z]+|[0-9]+|[A-Za-z0-9]{1,4})(?:[-_.:/@ ](?:[A-Za-z]+|[0-9]+|[A-Za-z0-9]{1,4}))*$/;

/** Each child value of a block under a key named for secrets, written as `secret=value`. */
export function findKeyedBlocks(input: string, out: DecodedWriter, locate = false): void {
  for (let at = input.indexOf(':\n'); at >= 0; ) at = input.indexOf(':\n', readYaml(input, at, out, locate));
  if (input.startsWith('[')) readSection(input, 0, out, locate);
  for (let at = input.indexOf('\n['); at >= 0; )
    at = input.indexOf('\n[', readSection(input, at + 1, out, locate));
}

/** A child's value, its quotes off, unless it reads as words joined. */
function cell(
  input: string,
  span: [number, number],
  name: string,
  out: DecodedWriter,
  locate: boolean,
): void {
  const value = input.slice(span[0], span[1]).replace(/^["'`]|["'`]$/g, '');
  if (!SLUG_LIKE.test(value)) writeCell(input, span, name, out, locate);
}

/** The key as a name if it names secrets, made singular; undefined if not. */
function blockName(raw: string): string | undefined {
  const key = nameOf(raw);
  if (key === undefined || !BLOCK_NAME.test(key)) return undefined;
  return key.replace(/(key|token|secret|password|credential)s$/i, '$1');
}

/** A YAML block from its key's colon at `colon`; where to search on from. */
function readYaml(input: string, colon: number, out: DecodedWriter, locate: boolean): number {
  const start = lineStart(input, colon);
  const indent = skipSpaces(input, start, colon) - start;
  const name = blockName(input.slice(start + indent, colon).replace(/^- /, ''));
  if (name === undefined) return colon + 2;
  let row = colon + 2;
  while (row < input.length) {
    const end = lineEnd(input, row);
    const from = skipSpaces(input, row, end);
    if (from === end) {
      row = nextLine(input, end);
      continue;
    }
    if (from - row <= indent) break;
    const colonAt = input.slice(from, end).indexOf(': ');
    const item = input.startsWith('- ', from) ? from + 2 : colonAt < 0 ? -1 : from + colonAt + 2;
    if (item > from && item < end && !/^[|>{[&*!]/.test(input[skipSpaces(input, item, end)]!))
      cell(input, trimmed(input, item, end), name, out, locate);
    row = nextLine(input, end);
  }
  return Math.max(row, colon + 2);
}

/** An INI or TOML section from its `[` at `start` (a line's first character); where to search on from. */
function readSection(input: string, start: number, out: DecodedWriter, locate: boolean): number {
  const end = lineEnd(input, start);
  const close = input.lastIndexOf(']', end);
  if (close <= start || end - start > 80) return start + 1;
  const name = blockName(input.slice(start + 1, close).replace(/^.*\./, ''));
  if (name === undefined) return start + 1;
  let row = nextLine(input, end);
  while (row < input.length && input.charCodeAt(row) !== OPEN_BRACKET) {
    const rowEnd = lineEnd(input, row);
    const line = input.slice(row, rowEnd);
    const equals = /^\s*[A-Za-z0-9_.-]{1,64}\s*[=:]\s*/.exec(line);
    if (equals && !/^[#;]/.test(line.trim()))
      cell(input, trimmed(input, row + equals[0].length, rowEnd), name, out, locate);
    row = nextLine(input, rowEnd);
  }
  return Math.max(row - 1, start + 1);
}

const OPEN_BRACKET = 91;
