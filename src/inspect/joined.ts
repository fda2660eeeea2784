/**
 * A reader joins the parts of one answer: the agent's client hands its model
 * every text block of a tool result one after another, a resource's contents,
 * a prompt's messages, the strings of structured content. Each part is
 * scrubbed alone, so an upstream that cuts a credential in two (`key: abc`,
 * `def`) passed every scrub while the model read `abcdef`. Here the parts a
 * reader joins are scrubbed once more as one text; when that finds what the
 * parts alone hid, the span it rewrote is written back over the parts it
 * covers: the first keeps the rewritten span, the others lose their share of
 * it. Joined, the parts then read exactly as the scrubbed whole.
 *
 * Groups of parts, each joined alone, in document order: every string
 * under a `text` key (a text block, an embedded resource's text, a resource
 * content's text, a prompt message's text) and a resource's uri, mime type,
 * name, title and description (a link's, an embedded resource's, a resource
 * read's contents), and every string inside `structuredContent` (a
 * client shows the one or the other), read once more with its keys. Base64 payloads
 * are read joined as bytes (joined-payloads.ts).
 */
import { uniqueKey } from '../scrub/unique-key.js';
import { MAX_DEPTH } from './deep.js';
import { joinPayloads, settleJoinedPayloads } from './joined-payloads.js';
import { asciiReading } from './look-alikes.js';
import { unwrapSpotlight } from './spotlight.js';

/**
 * `resource`: the text parts with resources' uris and mime types among them (read apart too: a uri
 * between two halves hides them). `keyed`: the structured strings with the keys among them (the same).
 */
export type PartGroup = 'text' | 'resource' | 'structured' | 'keyed';
export const PART_GROUPS: readonly PartGroup[] = ['text', 'resource', 'structured', 'keyed'];

/** The parts of `value` in `group` a reader joins, in document order. */
function partsOf(value: unknown, group: PartGroup): string[] {
  const parts: string[] = [];
  visit(value, group, false, 0, (text) => {
    parts.push(text);
    return text;
  });
  return parts;
}

/**
 * `value` with its parts rewritten so that, joined after `before`, they read as `scrubbed` (the
 * scrubber's rendering of `before` and the parts joined); `value` itself when the two are the same.
 */
function applyJoined<T>(
  value: T,
  group: PartGroup,
  scrubbed: string,
  before: string,
  /** What was scrubbed, when not the joined text itself: its look-alikes folded, of the same length. */
  read?: string,
): T {
  const parts = partsOf(value, group);
  const lengths = parts.map((part) => part.length);
  const joined = read ?? before + parts.join('');
  if (joined === scrubbed || lengths.length === 0) return value;
  const span = changedSpan(joined, scrubbed);
  // What was shown before cannot change: a span that reaches into it is redacted from the first
  // part on, and one wholly inside it is no longer this answer's to redact.
  if (span.end <= before.length) return value;
  const start = Math.max(0, span.start - before.length);
  const end = span.end - before.length;
  const { replacement } = span;
  // The part that takes the rewritten span: the first that reaches past its start (the last one
  // when the span is an insertion at the very end).
  let receiver = lengths.length - 1;
  for (let i = 0, to = 0; i < lengths.length; i++) {
    to += lengths[i] ?? 0;
    if (to > start) {
      receiver = i;
      break;
    }
  }
  let index = 0;
  let from = 0;
  return visit(value, group, false, 0, (text) => {
    const i = index++;
    const at = from;
    from += text.length;
    const tail = from > end ? text.slice(Math.max(0, end - at)) : '';
    if (i === receiver) return text.slice(0, Math.max(0, start - at)) + replacement + tail;
    // A later part's share of the span went to the receiver.
    if (i > receiver && at < end) return tail;
    return text;
  }) as T;
}

/**
 * `value` with the parts of each group scrubbed as one text (see above), then read once more with
 * look-alike letters as the ASCII ones they look like (a Cyrillic `а` for `a`, fullwidth digits,
 * mathematical `𝚊`, enclosed `ⓐ`: `asciiReading`): a model reads `cаnаry` as `canary`, the
 * scrubber did not. `shown`: text the agent read just
 * before this answer (a call's progress messages), read joined with its text parts.
 */
export function scrubJoined<T>(value: T, scrub: (text: string) => string, shown = ''): T {
  let out = value;
  for (const group of PART_GROUPS) {
    if (group === 'resource' && !hasResourceFields(out)) continue;
    const before = isTextual(group) ? shown : '';
    const whole = joinedRead(out, group, before);
    if (whole !== undefined) out = applyJoined(out, group, scrub(whole), before, whole);
    const read = asciiRead(out, group, before);
    if (read) out = applyJoined(out, group, readBack(read, scrub(read.reading.text)), before, read.text);
  }
  const payloads = joinPayloads(out);
  return payloads ? settleJoinedPayloads(out, payloads, scrub(payloads.encoded)) : out;
}

/** As `scrubJoined`, with a scrub that yields (the main thread's, for up to 256 K characters). */
export async function scrubJoinedYielding<T>(
  value: T,
  scrub: (text: string) => Promise<string>,
  shown = '',
): Promise<T> {
  let out = value;
  for (const group of PART_GROUPS) {
    if (group === 'resource' && !hasResourceFields(out)) continue;
    const before = isTextual(group) ? shown : '';
    const whole = joinedRead(out, group, before);
    if (whole !== undefined) out = applyJoined(out, group, await scrub(whole), before, whole);
    const read = asciiRead(out, group, before);
    if (read)
      out = applyJoined(out, group, readBack(read, await scrub(read.reading.text)), before, read.text);
  }
  const payloads = joinPayloads(out);
  return payloads ? settleJoinedPayloads(out, payloads, await scrub(payloads.encoded)) : out;
}

const isTextual = (group: PartGroup) => group === 'text' || group === 'resource';

/** Whether `value` has a uri or mime type to read with its text: the `resource` reading is the `text` one otherwise. */
function hasResourceFields(value: unknown): boolean {
  return partsOf(value, 'resource').length > partsOf(value, 'text').length;
}

/**
 * Each group's parts of `value`, for the groups of two parts or more: what a reader reads run
 * together, for the injection heuristics (`Inspector.joined`) as for the scrubber.
 */
export function partGroups(value: unknown): string[][] {
  const out: string[][] = [];
  let text: string[] = [];
  for (const group of PART_GROUPS) {
    const parts = partsOf(value, group);
    if (group === 'text') text = parts;
    // The same parts as the text reading when there is no uri or mime type among them.
    if (parts.length < 2 || (group === 'resource' && parts.length === text.length)) continue;
    out.push(parts);
  }
  return out;
}

/** The group's parts joined after `before`; undefined for a lone part (scrubbed alone already). */
function joinedRead(value: unknown, group: PartGroup, before: string): string | undefined {
  const parts = partsOf(value, group);
  if (parts.length === 0 || (parts.length === 1 && before === '')) return undefined;
  return before + parts.join('');
}

/** The group's parts joined after `before`, with their ASCII reading; undefined when it reads the same. */
function asciiRead(value: unknown, group: PartGroup, before: string): AsciiRead | undefined {
  const parts = partsOf(value, group);
  if (parts.length === 0) return undefined;
  const text = before + parts.join('');
  const reading = asciiReading(text);
  return reading ? { text, reading } : undefined;
}

export interface AsciiRead {
  text: string;
  reading: { text: string; origin: ArrayLike<number> };
}

/**
 * The text with what the scrubber changed in its ASCII reading (`asciiReading`) written over the
 * characters that read so: `𝚔𝚎𝚢` redacted as `key` would be; the text itself when nothing changed.
 */
export function readBack({ text, reading }: AsciiRead, scrubbed: string): string {
  if (scrubbed === reading.text) return text;
  const span = changedSpan(reading.text, scrubbed);
  return text.slice(0, reading.origin[span.start]) + span.replacement + text.slice(reading.origin[span.end]);
}

/** The one span where `before` and `after` differ: `before[start, end)` became `replacement`. */
export function changedSpan(
  before: string,
  after: string,
): { start: number; end: number; replacement: string } {
  const limit = Math.min(before.length, after.length);
  let start = 0;
  while (start < limit && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let common = 0;
  while (
    common < limit - start &&
    before.charCodeAt(before.length - 1 - common) === after.charCodeAt(after.length - 1 - common)
  )
    common++;
  // Never cut a surrogate pair: a part must stay well-formed text.
  if (start > 0 && isHigh(before.charCodeAt(start - 1))) start--;
  if (common > 0 && isLow(before.charCodeAt(before.length - common))) common--;
  return {
    start,
    end: before.length - common,
    replacement: after.slice(start, after.length - common),
  };
}

/** A resource link's fields a client shows its model beside the text blocks. */
const LINK_PARTS = new Set(['name', 'title', 'description']);
/**
 * A resource's fields (a link's, an embedded resource's, a resource read's contents': any object
 * with a `uri`) read in the `resource` group too: read alone, a credential cut between the uri and
 * the name or text went out whole.
 */
const RESOURCE_PARTS = new Set(['uri', 'mimeType']);

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * A text part; spotlighted text (spotlight.ts) is read without the gateway's markers, which stand
 * between two blocks' texts but are no part of what the upstream wrote.
 */
function textPart(text: string, part: (text: string) => string): string {
  const wrapped = unwrapSpotlight(text);
  if (!wrapped) return part(text);
  const body = part(wrapped.body);
  return body === wrapped.body ? text : wrapped.open + body + wrapped.close;
}

/**
 * Rewrites each part of `group` in document order with `part`; objects are copied only where a
 * part changed.
 */
function visit(
  value: unknown,
  group: PartGroup,
  structured: boolean,
  depth: number,
  part: (text: string) => string,
): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const next =
        typeof item === 'string'
          ? structured && !isTextual(group)
            ? part(item)
            : item
          : visit(item, group, structured, depth + 1, part);
      if (next === item) return;
      out ??= [...value];
      out[i] = next;
    });
    return out ?? value;
  }
  // A structured object's keys are read as its strings are, each before its value.
  const keysArePart = structured && group === 'keyed';
  const textual = isTextual(group);
  const link =
    textual &&
    !structured &&
    ((value as { type?: unknown }).type === 'resource_link' ||
      typeof (value as { uri?: unknown }).uri === 'string');
  let changed = false;
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value)) {
    const name = keysArePart ? part(key) : key;
    const inside = structured || key === 'structuredContent';
    const isPart = inside
      ? !textual
      : textual &&
        (key === 'text' ||
          (link && (LINK_PARTS.has(key) || (group === 'resource' && RESOURCE_PARTS.has(key)))));
    const next =
      typeof item === 'string'
        ? isPart
          ? inside || key !== 'text'
            ? part(item)
            : textPart(item, part)
          : item
        : visit(item, group, inside, depth + 1, part);
    if (next !== item || name !== key) changed = true;
    entries.push([name, next]);
  }
  if (!changed) return value;
  const out: Record<string, unknown> = {};
  const next = new Map<string, number>();
  for (const [name, item] of entries) {
    // A rewritten key may meet another: both values stay (scrub/unique-key.ts).
    const key = Object.hasOwn(out, name) ? uniqueKey(out, name, next) : name;
    // Defined, not assigned: a `__proto__` key stays data.
    Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
