/**
 * The one scrubber every sink uses (audit events, logs, webhooks, API and
 * dashboard responses, errors, tool results). Known secrets are found in
 * their raw and common encoded forms and replaced by `[REDACTED:secret]`.
 *
 * Structured values stay structurally valid: `value()` rewrites strings (and
 * object keys) inside JSON-like data and returns data of the same shape.
 */
import { knownSecretForms } from './encodings.js';

export const REDACTED_SECRET = '[REDACTED:secret]';

export interface StreamScrubber {
  /** Scrubs a chunk; may hold back a tail that could be the start of a secret. */
  push(chunk: string): string;
  /** Returns whatever was held back, scrubbed. */
  flush(): string;
}

export interface Scrubber {
  text(input: string): string;
  value<T>(input: T): T;
  /** Registers more known secrets, e.g. a run token minted at runtime. */
  addSecrets(values: Iterable<string>): void;
  stream(): StreamScrubber;
}

export interface ScrubberOptions {
  secrets?: Iterable<string>;
}

/** Secrets shorter than this are not matched: they would redact ordinary words. */
export const MIN_SECRET_LENGTH = 6;

export function createScrubber(options: ScrubberOptions = {}): Scrubber {
  const forms = new Set<string>();
  let pattern: RegExp | null = null;
  let longest = 0;
  const rebuild = () => {
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    longest = sorted[0]?.length ?? 0;
    pattern = sorted.length
      ? new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g')
      : null;
  };
  const addSecrets = (values: Iterable<string>) => {
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH) continue;
      for (const form of knownSecretForms(value)) forms.add(form);
    }
    rebuild();
  };
  const text = (input: string): string => (pattern ? input.replace(pattern, REDACTED_SECRET) : input);
  const value = <T>(input: T): T => deepMap(input, text, 0) as T;
  addSecrets(options.secrets ?? []);
  return {
    text,
    value,
    addSecrets,
    stream() {
      let held = '';
      return {
        push(chunk) {
          const combined = text(held + chunk);
          // Hold back enough characters to complete a secret split across chunks.
          const keep = Math.max(0, longest - 1);
          held = combined.length > keep ? combined.slice(combined.length - keep) : combined;
          return combined.slice(0, combined.length - held.length);
        },
        flush() {
          const rest = text(held);
          held = '';
          return rest;
        },
      };
    },
  };
}

const MAX_DEPTH = 200;

function deepMap(input: unknown, fn: (s: string) => string, depth: number): unknown {
  if (typeof input === 'string') return fn(input);
  if (input === null || typeof input !== 'object') return input;
  if (depth > MAX_DEPTH) return '[REDACTED:too_deep]';
  if (Array.isArray(input)) return input.map((item) => deepMap(item, fn, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(input)) out[fn(key)] = deepMap(item, fn, depth + 1);
  return out;
}
