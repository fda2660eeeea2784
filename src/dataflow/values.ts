/**
 * Values worth recognising when they leave: what a run received from a
 * private source (e-mail addresses, phone numbers, identifying JSON values)
 * and the same shapes in a later call's arguments. Scanning is by hand, in
 * one pass per text, so it stays linear whatever the upstream returns.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ValueFingerprint } from '../runs/run.js';

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
    if (!PHONE_CHARS.test(text[i] as string)) {
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
    if (!glued && digits.length >= 9 && digits.length <= 15) into.push({ kind: 'phone', value: digits });
  }
  return into;
}

/** What a run received from a private source: PII in every text, and identifying JSON values. */
export function valuesInResult(result: CallToolResult): FoundValue[] {
  const texts: string[] = [];
  for (const block of result.content ?? []) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'resource' && 'text' in block.resource) texts.push(String(block.resource.text));
  }
  return valuesInTexts(texts, result.structuredContent);
}

/** The same for any answer: its texts, and a structured value whose every leaf counts. */
export function valuesInTexts(texts: readonly string[], structured?: unknown): FoundValue[] {
  const found: FoundValue[] = [];
  for (const text of texts) {
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

/** Candidates in outgoing arguments, each with the JSON pointer of the argument it sits in. */
export function valuesInArguments(args: Record<string, unknown>): { pointer: string; value: FoundValue }[] {
  const out: { pointer: string; value: FoundValue }[] = [];
  const stack: [unknown, string][] = [[args, '']];
  while (stack.length > 0) {
    const [item, pointer] = stack.pop() as [unknown, string];
    if (typeof item === 'string') {
      for (const value of stringValues(item)) out.push({ pointer, value });
    } else if (typeof item === 'number' && Number.isInteger(item) && Math.abs(item) >= 10_000) {
      out.push({ pointer, value: { kind: 'value', value: String(item) } });
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) stack.push([child, `${pointer}/${key}`]);
    }
  }
  return out;
}

function stringValues(text: string): FoundValue[] {
  const found: FoundValue[] = [];
  const whole = text.trim().toLowerCase();
  if (whole.length >= MIN_VALUE_LENGTH && whole.length <= MAX_VALUE_LENGTH)
    found.push({ kind: 'value', value: whole });
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
  }
  return dedupe(found);
}

function leaves(value: unknown, into: FoundValue[], all = false): void {
  const stack: unknown[] = [value];
  let budget = 10_000;
  while (stack.length > 0 && budget-- > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      const v = item.trim().toLowerCase();
      if (v.length >= MIN_VALUE_LENGTH && v.length <= MAX_VALUE_LENGTH)
        into.push({ kind: 'value', value: v });
      if (all) piiIn(item, into);
    } else if (typeof item === 'number' && Number.isInteger(item) && Math.abs(item) >= 10_000) {
      into.push({ kind: 'value', value: String(item) });
    } else if (item !== null && typeof item === 'object') {
      for (const child of Object.values(item)) stack.push(child);
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
