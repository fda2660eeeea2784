/**
 * Values worth recognising when they leave: what a run received from a
 * private source (e-mail addresses, phone numbers, identifying JSON values)
 * and the same shapes in a later call's arguments. Scanning is by hand, in
 * one pass per text, so it stays linear whatever the upstream returns.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ValueFingerprint } from '../runs/run.js';
import { folded, readings } from './readings.js';

export type ValueKind = ValueFingerprint['kind'];

export interface FoundValue {
  kind: ValueKind;
  /** Normalised: lower case; a phone number as its digits. */
  value: string;
}

/** At most this many values are taken from one result. */
export const MAX_VALUES_PER_RESULT = 500;
/** JSON values shorter than this are too common to identify anyone ("open", "2024"). */
const MIN_VALUE_LENGTH = 5;
const MAX_VALUE_LENGTH = 256;
/** Texts are scanned up to this size: the output cap already bounds them; this bounds the work. */
const MAX_SCAN = 1024 * 1024;

const LOCAL = /[A-Za-z0-9._%+-]/;
const DOMAIN = /[A-Za-z0-9.-]/;
const PHONE_CHARS = /[0-9+()\-. ]/;
const PHONE_START = /[0-9+(]/;

/** E-mail addresses and phone numbers in free text. */
export function piiIn(text: string, into: FoundValue[] = []): FoundValue[] {
  const end = Math.min(text.length, MAX_SCAN);
  // E-mail: walk out from each "@", at most 64 characters left and 253 right.
  for (let at = text.indexOf('@'); at !== -1 && at < end; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start < 64 && LOCAL.test(text[start - 1] as string)) start--;
    let stop = at + 1;
    while (stop < end && stop - at <= 253 && DOMAIN.test(text[stop] as string)) stop++;
    while (stop > at + 1 && text[stop - 1] === '.') stop--;
    const domain = text.slice(at + 1, stop);
    if (start < at && domain.includes('.') && !domain.startsWith('.')) {
      into.push({ kind: 'email', value: text.slice(start, stop).toLowerCase() });
    }
  }
  // Phone: a run of digits and phone punctuation holding 9 to 15 digits.
  let i = 0;
  while (i < end) {
    // A number starts at a digit, `+` or `(`: a space or dot before it is not part of it (else the
    // word before, "Tel +1 415…", would count as glued to it).
    if (!PHONE_START.test(text[i] as string)) {
      i++;
      continue;
    }
    let digits = '';
    const runStart = i;
    while (i < end && PHONE_CHARS.test(text[i] as string)) {
      const ch = text[i] as string;
      if (ch >= '0' && ch <= '9') digits += ch;
      i++;
    }
    // Part of a longer word (an id like ORD-000042 or a hash) is not a phone number.
    const glued = runStart > 0 && /[A-Za-z]/.test(text[runStart - 1] as string);
    if (!glued && digits.length >= 9 && digits.length <= 15) addPhone(digits, into);
  }
  return into;
}

/**
 * A phone number as its digits, and as its last ten when it has more: the same number written
 * with its country code (`+1 415 555 0123`) and without it (`(415) 555-0123`) then meet.
 */
function addPhone(digits: string, into: FoundValue[]): void {
  into.push({ kind: 'phone', value: digits });
  if (digits.length > 10) into.push({ kind: 'phone', value: digits.slice(-10) });
}

/** What a run received from a private source: PII in every text, and identifying JSON values. */
export function valuesInResult(result: CallToolResult): FoundValue[] {
  const texts: string[] = [];
  for (const block of result.content ?? []) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'resource') texts.push(...textsOfContents(block.resource));
    // A link's words are read by the agent as a text block's are.
    else if (block.type === 'resource_link')
      texts.push(...[block.name, block.title, block.description].filter((t) => typeof t === 'string'));
  }
  return valuesInTexts(texts, result.structuredContent);
}

/** Largest blob decoded to look for identifying values in it; the read counts whatever its size. */
const MAX_BLOB_SCAN = 1024 * 1024;

/**
 * The texts of one resource content for fingerprinting: its text, or a blob's bytes read as
 * UTF-8 (a CSV or JSON export served as a blob holds the same addresses as text would), in a
 * tool result's embedded resource as in a `resources/read` answer.
 */
export function textsOfContents(content: { text?: unknown; blob?: unknown }): string[] {
  if (typeof content.text === 'string') return [content.text];
  if (typeof content.blob === 'string')
    return [Buffer.from(content.blob.slice(0, MAX_BLOB_SCAN), 'base64').toString('utf8')];
  return [];
}

/** The same for any answer: its texts, and a structured value whose every leaf counts. */
export function valuesInTexts(texts: readonly string[], structured?: unknown): FoundValue[] {
  const found: FoundValue[] = [];
  for (const raw of texts) {
    // Read as an outgoing argument would be (readings.ts): a fullwidth or zero-width-split
    // address received is the address.
    const text = folded(raw).text;
    piiIn(text, found);
    // Services often answer with a JSON document, or a line of prose then one.
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) continue;
      try {
        leaves(JSON.parse(trimmed) as unknown, found);
      } catch {
        // Not JSON after all: its PII was already taken.
      }
    }
  }
  if (structured !== undefined) leaves(structured, found, true);
  return dedupe(found).slice(0, MAX_VALUES_PER_RESULT);
}

/** Neighbouring string arguments read together, to find a value split across them: at most so long. */
const MAX_JOINED = 16 * 1024;
/** Only the first arguments are read in pairs and triples; a call with thousands would cost that much. */
const MAX_JOINED_ARGUMENTS = 256;

/**
 * Candidates in outgoing arguments, each with the JSON pointer of the argument it sits in. Also
 * what neighbouring string arguments say together, in order, joined without a separator: an
 * address or a number split across them (`user` + `domain`) is named by the pointers it spans.
 */
export function valuesInArguments(args: Record<string, unknown>): { pointer: string; value: FoundValue }[] {
  const out: { pointer: string; value: FoundValue }[] = [];
  const strings: [string, string][] = [];
  const keys: [string, string, unknown][] = [];
  const stack: [unknown, string][] = [[args, '']];
  while (stack.length > 0) {
    const [item, pointer] = stack.pop() as [unknown, string];
    if (typeof item === 'string') {
      strings.push([pointer, item]);
      for (const value of stringValues(item)) out.push({ pointer, value });
    } else if (typeof item === 'number' && Number.isInteger(item) && Math.abs(item) >= 10_000) {
      out.push({ pointer, value: { kind: 'value', value: String(item) } });
    } else if (item !== null && typeof item === 'object') {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push([child, `${pointer}/${key}`]);
        if (!Array.isArray(item)) keys.push([`${pointer || '/'} (a key)`, key, child]);
      }
    }
  }
  // A key is text that leaves too: an open map's key can carry the address (`{"a@x.io": 1}`), or
  // its first half and its value the rest. It is named by its object, not by itself.
  for (const [pointer, key, child] of keys.slice(0, MAX_JOINED_ARGUMENTS)) {
    for (const value of stringValues(key)) out.push({ pointer, value });
    if (typeof child === 'string' && key.length + child.length <= MAX_JOINED) {
      const inValue = new Set(piiIn(child).map((v) => v.value));
      for (const value of dedupe(piiIn(key + child)))
        if (!inValue.has(value.value)) out.push({ pointer, value });
    }
  }
  // Two or three neighbouring arguments read as one: the window that starts at the split value's
  // first piece has nothing glued before it.
  const alone = new Set(out.map((o) => `${o.value.kind}\0${o.value.value}`));
  const pieces = strings.slice(0, MAX_JOINED_ARGUMENTS);
  for (let i = 0; i < pieces.length - 1; i++) {
    for (let size = 2; size <= 3 && i + size <= pieces.length; size++) {
      const window = pieces.slice(i, i + size);
      const joined = window.map(([, text]) => text).join('');
      if (joined.length > MAX_JOINED) break;
      const pointer = window.map(([p]) => p).join(' + ');
      for (const value of dedupe(piiIn(joined))) {
        const key = `${value.kind}\0${value.value}`;
        if (alone.has(key)) continue;
        alone.add(key);
        out.push({ pointer, value });
      }
    }
  }
  return out;
}

/** Strings longer than this are not searched for spaced-out, base64 or hex values (the cost). */
const MAX_DECODED = 64 * 1024;
/** Base64 or base64url runs long enough to hold an address (`dana@x.io` is 12 characters encoded). */
// Only at the start of a run (the lookbehind): else every position of every shorter word is tried.
const BASE64_RUN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{12,}={0,2}/g;
const HEX_RUN = /\b(?:[0-9a-fA-F]{2}){6,}\b/g;
/** Decoded text that is mostly printable is worth scanning; random bytes are not. */
const PRINTABLE = /^[\x20-\x7e\t\r\n\u00a0-\uffff]*$/;

function stringValues(text: string): FoundValue[] {
  const found: FoundValue[] = [];
  readingValues(text, found);
  if (text.length <= MAX_DECODED) for (const reading of readings(text)) readingValues(reading, found);
  return dedupe(found);
}

/** Values in one reading of an outgoing string. */
function readingValues(text: string, found: FoundValue[]): void {
  addWhole(text, found);
  // A short string of digits and any separators (`415/555/0123`, `4_1_5…`) may be a phone number.
  if (text.length <= 64 && !/[A-Za-z]/.test(text)) {
    const digits = text.replace(/[^0-9]/g, '');
    if (digits.length >= 9 && digits.length <= 15) addPhone(digits, found);
  }
  piiIn(text, found);
  // Data in a URL is often percent-encoded (once or twice): look at the decoded form too.
  let decoded = text;
  for (let round = 0; round < 2 && decoded.includes('%'); round++) {
    try {
      decoded = decodeURIComponent(decoded.replace(/\+/g, ' '));
    } catch {
      break;
    }
    piiIn(decoded, found);
    addWhole(decoded, found);
  }
  // The rest looks for re-encoded values in arguments of a URL's or a message's size.
  if (text.length > MAX_DECODED) return;
  // Spaced out to dodge a filter ("d a n a . w @ x . i o"): spaces around `@` and `.`, and between
  // single characters, taken out.
  if (/\s[^\s]{1,2}\s|\s[@.]|[@.]\s/.test(text)) piiIn(despace(text), found);
  // Base64 (standard or URL-safe) and hex runs, decoded once: `?d=ZGFuYUB4Lmlv`.
  for (const [runs, encoding] of [
    [text.match(BASE64_RUN), 'base64'],
    [text.match(HEX_RUN), 'hex'],
  ] as const) {
    for (const run of (runs ?? []).slice(0, 64)) {
      const plain = Buffer.from(run, encoding).toString('utf8');
      if (plain.length < MIN_VALUE_LENGTH || !PRINTABLE.test(plain)) continue;
      piiIn(plain, found);
      addWhole(plain, found);
    }
  }
}

/**
 * `text` with the whitespace that spaces out an address taken out: runs beside `@` or `.`, and
 * runs between two single characters. By hand, in one pass: a regex with `\s*` on both sides of
 * an alternative is quadratic on a long run of spaces.
 */
function despace(text: string): string {
  const end = Math.min(text.length, MAX_SCAN);
  const space = (i: number) => {
    if (i < 0 || i >= end) return true;
    const c = text.charCodeAt(i);
    return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || (c > 0xff && /\s/.test(text[i] as string));
  };
  let out = '';
  let i = 0;
  while (i < end) {
    if (!space(i)) {
      out += text[i];
      i++;
      continue;
    }
    let j = i;
    while (j < end && space(j)) j++;
    const before = text[i - 1];
    const after = text[j];
    const aroundMark = before === '@' || before === '.' || after === '@' || after === '.';
    const singles =
      i > 0 && j < end && space(i - 2) && (space(j + 1) || text[j + 1] === '@' || text[j + 1] === '.');
    if (!aroundMark && !singles) out += ' ';
    i = j;
  }
  return out;
}

/** The whole text as a value: trimmed, lower case, inner whitespace runs as one space. */
function addWhole(text: string, into: FoundValue[]): void {
  const whole = normalise(text);
  if (whole.length >= MIN_VALUE_LENGTH && whole.length <= MAX_VALUE_LENGTH)
    into.push({ kind: 'value', value: whole });
}

function normalise(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ');
}

function leaves(value: unknown, into: FoundValue[], all = false): void {
  const stack: unknown[] = [value];
  let budget = 10_000;
  while (stack.length > 0 && budget-- > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      const v = normalise(item);
      if (v.length >= MIN_VALUE_LENGTH && v.length <= MAX_VALUE_LENGTH)
        into.push({ kind: 'value', value: v });
      if (all) piiIn(item, into);
    } else if (typeof item === 'number' && Number.isInteger(item) && Math.abs(item) >= 10_000) {
      into.push({ kind: 'value', value: String(item) });
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        // A map keyed by customer holds their addresses as keys; an ordinary key is no value.
        if (all && !Array.isArray(item)) piiIn(key, into);
        stack.push(child);
      }
    }
  }
}

function dedupe(values: FoundValue[]): FoundValue[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = `${v.kind}\0${v.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
