/**
 * The one scrubber every sink uses (audit events, logs, webhooks, API and
 * dashboard responses, errors, tool results). It removes:
 *  - known secrets (credentials the policy resolves, run tokens minted later)
 *    in raw, base64 (any alignment), base64url, URL-encoded, hex and
 *    JSON-escaped form → `[REDACTED:secret]`;
 *  - text matching a credential-format rule → `[REDACTED:<rule-id>]`;
 *  - personal data per kind: `redact` → `[REDACTED:<kind>]`, `mask` → a hint
 *    such as `**** **** **** 4242`, or `allow`. By default cards, IBANs and
 *    national ids are redacted, emails and phone numbers allowed (see pii.ts).
 *
 * Every scan is linear in the input: a hostile tool output cannot make a sink
 * stall (see aho-corasick.ts and regex-safety.ts).
 *
 * Structured values stay structurally valid: `value()` rewrites strings (and
 * object keys) inside JSON-like data and returns data of the same shape.
 */
import { createEngine } from './engine.js';
import type { Engine, ScrubStats } from './engine-types.js';
import { DEFAULT_PII_ACTIONS, type PiiAction, type PiiKind } from './pii.js';
import type { CompiledPiiSet } from './pii-scan.js';
import { newScrubberBase, registerReplica, type ScrubberBase, type SecretChange } from './replica.js';
import { BUILTIN_RULES, type SecretRule } from './rules/index.js';
import { createStreamScrubber, type StreamScrubber } from './stream.js';
import { uniqueKey } from './unique-key.js';

export { MIN_SECRET_LENGTH } from './automata.js';
export { REDACTED_SECRET, type ScrubStats } from './engine-types.js';
export { DEFAULT_PII_ACTIONS, PII_KINDS, type PiiAction, type PiiActions, type PiiKind } from './pii.js';
export { BUILTIN_RULES, type SecretRule } from './rules/index.js';
export type { StreamScrubber } from './stream.js';

export interface Scrubber {
  text(input: string): string;
  value<T>(input: T): T;
  /** Registers more known secrets, e.g. a run token minted at runtime. */
  addSecrets(values: Iterable<string>): void;
  /**
   * Stops matching secrets `addSecrets` registered (a run token once its run ended), so what a
   * long-lived scrubber holds is bounded by the live ones. Configured secrets are never forgotten.
   */
  forgetSecrets(values: Iterable<string>): void;
  stream(): StreamScrubber;
}

/** A scrubber that also reports how much matching work it has done (for tests and metrics). */
export interface MeasuredScrubber extends Scrubber {
  readonly stats: Readonly<ScrubStats>;
  /** Forms of runtime secrets held in automata: the live ones, and forgotten ones not yet rebuilt away. */
  heldForms(): number;
  /**
   * A scrubber with other PII actions (kinds not given keep `DEFAULT_PII_ACTIONS`) that shares
   * this one's automaton, rules and known secrets: one per profile costs no rebuild, and
   * `addSecrets` on any of them reaches all.
   */
  withPii(pii: Partial<Record<PiiKind, PiiAction>>): MeasuredScrubber;
}

export interface ScrubberOptions {
  secrets?: Iterable<string>;
  /** Credential-format rules; default: all built-in rules. */
  rules?: readonly SecretRule[];
  /** Rule ids to leave out (the policy's `scrub.disable_rules`). Unknown ids are ignored; see `unknownRuleIds`. */
  disableRules?: Iterable<string>;
  /** Per-kind PII action; kinds not given keep `DEFAULT_PII_ACTIONS`. */
  pii?: Partial<Record<PiiKind, PiiAction>>;
  /** Nesting beyond this in `value()` is replaced by `[REDACTED:too_deep]`. Default 200, as before. */
  maxDepth?: number;
}

export const TOO_DEEP = '[REDACTED:too_deep]';

/** Ids in `ids` that name no rule in `rules`, so a policy lint can report a typo in `disable_rules`. */
export function unknownRuleIds(
  ids: Iterable<string>,
  rules: readonly SecretRule[] = BUILTIN_RULES,
): string[] {
  const known = new Set(rules.map((rule) => rule.id));
  return [...ids].filter((id) => !known.has(id));
}

export function createScrubber(options: ScrubberOptions = {}): MeasuredScrubber {
  const disabled = new Set(options.disableRules ?? []);
  const secrets = [...(options.secrets ?? [])];
  const maxDepth = options.maxDepth ?? 200;
  const engine = createEngine({
    secrets,
    rules: (options.rules ?? BUILTIN_RULES).filter((rule) => !disabled.has(rule.id)),
    pii: { ...DEFAULT_PII_ACTIONS, ...options.pii },
  });
  // Custom rules cannot be sent to another thread: such a scrubber has no replica (replica.ts).
  const base = options.rules
    ? undefined
    : newScrubberBase({ configured: secrets, disableRules: [...disabled], maxDepth });
  return scrubberOn(engine, undefined, { ...DEFAULT_PII_ACTIONS, ...options.pii }, maxDepth, base);
}

function scrubberOn(
  engine: Engine,
  pii: CompiledPiiSet | undefined,
  actions: Record<PiiKind, PiiAction>,
  maxDepth: number,
  base: (ScrubberBase & { record(change: SecretChange): void }) | undefined,
): MeasuredScrubber {
  // Spans merged by the engine (Engine.detectMerged): the stream's merge of them changes nothing.
  const detect = (input: string, streaming: boolean) => engine.detectMerged(input, streaming, pii);
  const text = (input: string): string => engine.scrubText(input, pii);
  const scrubber: MeasuredScrubber = {
    text,
    value: <T>(input: T): T => deepMap(input, text, 0, maxDepth) as T,
    addSecrets: (values) => {
      const list = [...values];
      engine.addSecrets(list);
      // After the engine: a replica never learns a secret before the original does.
      base?.record({ kind: 'added', values: list });
    },
    forgetSecrets: (values) => {
      const list = [...values];
      engine.forgetSecrets(list);
      base?.record({ kind: 'forgotten', values: list });
    },
    stream: () => createStreamScrubber(detect),
    stats: engine.stats,
    heldForms: engine.heldForms,
    withPii: (more) => {
      const merged = { ...DEFAULT_PII_ACTIONS, ...more };
      return scrubberOn(engine, engine.compilePii(merged), merged, maxDepth, base);
    },
  };
  if (base) registerReplica(scrubber, { base, pii: actions });
  return scrubber;
}

function deepMap(input: unknown, fn: (s: string) => string, depth: number, maxDepth: number): unknown {
  if (typeof input === 'string') return fn(input);
  if (input === null || typeof input !== 'object') return input;
  // Stops a deeply nested payload from exhausting the stack of the sink that scrubs it.
  if (depth >= maxDepth) return TOO_DEEP;
  if (Array.isArray(input)) return input.map((item) => deepMap(item, fn, depth + 1, maxDepth));
  const source =
    typeof (input as { toJSON?: unknown }).toJSON === 'function'
      ? (input as { toJSON(): unknown }).toJSON()
      : input;
  if (source !== input) return deepMap(source, fn, depth, maxDepth);
  const out: Record<string, unknown> = {};
  let suffixes: Map<string, number> | undefined;
  for (const [key, item] of Object.entries(input)) {
    // Two keys redacted to the same marker must not collapse into one and lose a value.
    const scrubbed = fn(key);
    let unique = scrubbed;
    if (Object.hasOwn(out, unique)) {
      suffixes ??= new Map();
      unique = uniqueKey(out, scrubbed, suffixes);
    }
    // Defined, not assigned: a `__proto__` key from JSON.parse stays data instead of becoming
    // the copy's prototype.
    Object.defineProperty(out, unique, {
      value: deepMap(item, fn, depth + 1, maxDepth),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
