/**
 * The inspection of one answer an upstream gave (a tool result, a resource, a
 * prompt): one byte budget shared by everything in it, one list of findings.
 * Every string of every content block is cleaned and charged to the budget —
 * not only `text`: a `resource_link`'s name, title, description and uri, an
 * image's mime type and annotations, any `_meta`, reach clients too. Only the
 * base64 payloads (`data`, `blob`) pass verbatim, counted by decoded size.
 */
import type { ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { cleanDeep } from './deep.js';
import { stripHidden } from './hidden.js';
import { findEncodedBlob, findInjection, findInjectionAcross } from './injection.js';
import { partGroups } from './joined.js';
import { mediaTypeForNote, uriForNote } from './note-words.js';

export type InspectFlag =
  | 'truncated'
  | 'media_dropped'
  | 'injection_suspected'
  | 'encoded_blob'
  | 'hidden_characters'
  | 'escape_sequences'
  | 'forged_meta'
  | 'secret_redacted';

export interface InspectFinding {
  kind: InspectFlag;
  detail: string;
}

export function truncationMarker(bytes: number): string {
  return `[bulkhead: output truncated at ${bytes} bytes]`;
}

/** Paths inside a block whose strings are not text: the block's kind and base64 payloads. */
/** Media types whose bytes are text: `text/*`, JSON, XML, YAML, scripts, forms; `+json`/`+xml` suffixes. */
const TEXTUAL =
  /^\s*(?:text\/|application\/(?:json|xml|yaml|x-yaml|javascript|ecmascript|x-sh|x-www-form-urlencoded|sql|graphql|toml|ld\+json)\b|[\w.+-]+\/[\w.-]+\+(?:json|xml|yaml)\b)/i;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const VERBATIM = new Set(['type', 'data', 'resource/blob', 'blob']);

export class Inspector {
  readonly findings: InspectFinding[] = [];
  private readonly seen = new Set<string>();
  private budget: number;

  /**
   * `scrub`, when given, runs on the raw text of every string that holds hidden characters:
   * removing one can join a secret to the word after it, out of its rule's reach.
   */
  constructor(
    private readonly maxBytes: number,
    private readonly scrub?: (text: string) => string,
    /** Original byte counts of texts cut before inspection (precut.ts), by where they sit. */
    private readonly precutSizes?: Readonly<Record<string, number>>,
  ) {
    this.budget = Math.max(0, maxBytes);
  }

  note(kind: InspectFlag, raw: string): void {
    const detail = visible(raw);
    const key = `${kind}:${detail}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push({ kind, detail });
  }

  flags(): InspectFlag[] {
    return [...new Set(this.findings.map((f) => f.kind))];
  }

  /**
   * The injection heuristics on the parts of a cleaned answer read joined (joined.ts): a phrase
   * cut across two text blocks, or a link's name and description, was in no one string. Not
   * read again once an injection is noted: the flag is what binds.
   */
  joined(answer: unknown): void {
    if (this.findings.some((f) => f.kind === 'injection_suspected')) return;
    for (const parts of partGroups(answer))
      for (const hit of findInjectionAcross(parts))
        this.note('injection_suspected', `joined parts: ${hit.heuristic}`);
  }

  /** Hidden characters and escapes removed; injection and blob heuristics noted. */
  clean(text: string, where: string): string {
    let cleaned = stripHidden(text);
    if (this.scrub && cleaned.text !== text)
      cleaned = { ...cleaned, text: stripHidden(this.scrub(text)).text };
    if (cleaned.escapes > 0) this.note('escape_sequences', `${where}: ${cleaned.escapes} removed`);
    if (cleaned.hidden > 0) this.note('hidden_characters', `${where}: ${cleaned.hidden} removed`);
    for (const hit of findInjection(cleaned.text))
      this.note('injection_suspected', `${where}: ${hit.heuristic}`);
    if (cleaned.smuggled) {
      this.note('injection_suspected', `${where}: tag_smuggled_text`);
      for (const hit of findInjection(cleaned.smuggled))
        this.note('injection_suspected', `${where}: hidden ${hit.heuristic}`);
    }
    const blob = findEncodedBlob(cleaned.text);
    if (blob) this.note('encoded_blob', `${where}: ${blob.heuristic}`);
    return cleaned.text;
  }

  /**
   * Cleans a string and charges it to the budget, cutting it with a visible marker when it does
   * not fit. Text far over the budget is cut before cleaning, so a hostile megabyte costs what
   * the budget costs, not what the upstream sent.
   */
  text(raw: string, where: string): string {
    let input = raw;
    let original = 0;
    if (raw.length > this.budget) {
      original = this.precutSizes?.[where] ?? Buffer.byteLength(raw, 'utf8');
      // Each UTF-16 unit takes at least one byte: `budget + 1` units hold at least the bytes kept.
      if (original > this.budget) input = utf8Prefix(raw.slice(0, this.budget + 1), this.budget);
    }
    const cleaned = this.clean(input, where);
    const bytes = Buffer.byteLength(cleaned, 'utf8');
    if (input === raw && bytes <= this.budget) {
      this.budget -= bytes;
      return cleaned;
    }
    const kept = bytes <= this.budget ? cleaned : utf8Prefix(cleaned, this.budget);
    this.note('truncated', `${where}: ${original || bytes} bytes cut to ${this.budget}`);
    this.budget = 0;
    return `${kept}\n${truncationMarker(this.maxBytes)}`;
  }

  /** One content block, every string in it inspected; media over the budget become a note. */
  block(block: ContentBlock, where: string): ContentBlock {
    const cleaned = cleanDeep(block, {
      text: (text, path) =>
        path === 'text' || path === 'resource/text'
          ? this.text(text, where)
          : this.text(text, `${where}.${path}`),
      key: (key, path) => this.clean(key, `${where}.${path}`),
      verbatim: (path) => VERBATIM.has(path),
      onForgedMeta: (key, path) => this.note('forged_meta', `${where}.${path}: ${key}`),
    }) as ContentBlock;
    if (cleaned.type === 'image' || cleaned.type === 'audio') {
      const bytes = base64Bytes(cleaned.data);
      if (this.charge(bytes)) return cleaned;
      this.note('media_dropped', `${where}: ${cleaned.type} of ${bytes} bytes over the remaining budget`);
      return {
        type: 'text',
        text: `[bulkhead: ${cleaned.type} (${mediaTypeForNote(cleaned.mimeType)}, ${bytes} bytes) removed: over the size limit]`,
      };
    }
    if (cleaned.type === 'resource' && 'blob' in cleaned.resource) {
      const bytes = typeof cleaned.resource.blob === 'string' ? base64Bytes(cleaned.resource.blob) : 0;
      if (this.charge(bytes)) {
        const { blob, mimeType } = cleaned.resource;
        const text =
          typeof blob === 'string' ? this.textBlob(blob, mimeType, `${where}.resource/blob`) : blob;
        return text === blob ? cleaned : { ...cleaned, resource: { ...cleaned.resource, blob: text } };
      }
      this.note('media_dropped', `${where}: resource of ${bytes} bytes over the remaining budget`);
      return {
        type: 'text',
        text: `[bulkhead: resource ${uriForNote(cleaned.resource.uri)} (${bytes} bytes) removed: over the size limit]`,
      };
    }
    return cleaned;
  }

  /**
   * A blob that is text (a textual media type, or none, and valid UTF-8) is text a client may
   * decode for its model: cleaned and checked as text is, and encoded again when cleaning changed
   * it. Before, instructions, escapes and tag-smuggled text in a `text/plain` blob passed unseen.
   */
  textBlob(blob: string, mimeType: unknown, where: string): string {
    if (typeof mimeType === 'string' && !TEXTUAL.test(mimeType)) return blob;
    let decoded: string;
    try {
      decoded = STRICT_UTF8.decode(Buffer.from(blob, 'base64'));
    } catch {
      return blob;
    }
    const cleaned = this.clean(decoded, where);
    return cleaned === decoded ? blob : Buffer.from(cleaned, 'utf8').toString('base64');
  }

  /** Strings cleaned one by one (serialised JSON would hide control characters as `\u001b`). */
  data(value: unknown, where: string): unknown {
    return cleanDeep(value, {
      text: (text) => this.clean(text, where),
      onForgedMeta: (key, path) => this.note('forged_meta', `${where}.${path}: ${key}`),
    });
  }

  /** Takes `bytes` from the budget if they fit. */
  charge(bytes: number): boolean {
    if (bytes > this.budget) return false;
    this.budget -= bytes;
    return true;
  }
}

/**
 * A finding's detail names where it sat by the upstream's own keys, and a forged `_meta` key by
 * itself: shown in the audit log, never obeyed. Every character outside printable ASCII is
 * written as `\u{…}`, so a key made of terminal escapes, bidi controls or tag characters cannot
 * act on the terminal or page that shows the log.
 */
export function visible(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}

/** Decoded size of base64 without decoding it. */
export function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.floor((data.length * 3) / 4) - padding;
}

/** The longest prefix of `text` whose UTF-8 encoding fits in `bytes`, never splitting a character. */
export function utf8Prefix(text: string, bytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  let end = Math.min(bytes, buf.length);
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}
