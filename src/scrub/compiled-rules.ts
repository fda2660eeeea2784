/**
 * The scrubber's rules as the engine runs them (scan-phase.ts): each rule's sticky pattern, marker,
 * window and gates compiled once, and its anchors grouped by their case-folded text, the patterns
 * of the engine's automata (automata.ts).
 */
import { foldAscii } from './aho-corasick.js';
import { type MissProof, missProof } from './miss-proof.js';
import { runOf } from './pii-scan.js';
import type { SecretRule } from './rules/types.js';

const DEFAULT_RULE_MAX_LENGTH = 512;

export interface CompiledRule {
  regex: RegExp;
  marker: string;
  before: number;
  maxLength: number;
  spacesWithin: number;
  extend: RegExp | undefined;
  /** SecretRule.keepsEscape. */
  keepsEscape: boolean;
  /** SecretRule.contextBefore, 0 when not given. */
  contextBefore: number;
  group: number;
  accept: ((secret: string, before: string) => boolean) | undefined;
  /** `accept` read in place (SecretRule.acceptIn), where the rule gives it. */
  acceptIn: ((input: string, start: number, end: number) => boolean) | undefined;
  /**
   * Sticky: the run of `extend` characters a failed-closed redaction covers; undefined for a rule
   * with no `extend`, whose run is VALUE_CHAR's, as the scan reads it already (scan-phase.ts `runEnd`).
   */
  closed: RegExp | undefined;
  /** The class of the `before` characters, as ASCII flags (`beforeChar`; others tested by it). */
  beforeAscii: Uint8Array | undefined;
  beforeChar: RegExp | undefined;
  /** A check that settles most failing calls without the regex (miss-proof.ts). */
  proof: MissProof | undefined;
}

/** Characters a credential value is made of, when a rule names no `extend` class. */
export const VALUE_CHAR = '[^\\s"\'`<>]';

/** An anchor of rules that take it in one exact case (checked at the hit). */
export interface ExactAnchor {
  anchor: string;
  rules: number[];
}

/** Flags of the ASCII characters in `charClass` (a one-character class). */
function asciiFlags(charClass: RegExp): Uint8Array {
  const flags = new Uint8Array(128);
  for (let code = 0; code < 128; code++) flags[code] = charClass.test(String.fromCharCode(code)) ? 1 : 0;
  return flags;
}

/** Whether `input[start, anchorStart)` is all of the rule's `beforeChar` class (read backwards). */
export function prefixFits(input: string, start: number, anchorStart: number, rule: CompiledRule): boolean {
  const ascii = rule.beforeAscii!;
  for (let k = anchorStart - 1; k >= start; k--) {
    const code = input.charCodeAt(k);
    if (code < 128 ? ascii[code] === 0 : !rule.beforeChar!.test(input[k]!)) return false;
  }
  return true;
}

/** Rule anchors by folded text. */
export interface AnchorOwners {
  anyCase: number[];
  exact: ExactAnchor[];
}

/** The rules compiled; `fastRules` off: no miss proofs (engine.ts EngineOptions). */
export function compileRules(list: readonly SecretRule[], fastRules: boolean): CompiledRule[] {
  return list.map((rule) => ({
    regex: new RegExp(rule.pattern, `y${rule.anyCase ? 'i' : ''}`),
    marker: `[REDACTED:${rule.id}]`,
    before: rule.before ?? 0,
    maxLength: rule.maxLength ?? DEFAULT_RULE_MAX_LENGTH,
    spacesWithin: rule.spaces ? (rule.spacesWithin ?? Number.POSITIVE_INFINITY) : 0,
    extend: rule.extend ? new RegExp(rule.extend) : undefined,
    keepsEscape: rule.keepsEscape ?? false,
    contextBefore: rule.contextBefore ?? 0,
    group: rule.group ?? 0,
    accept: rule.accept,
    acceptIn: fastRules && rule.accept ? rule.acceptIn : undefined,
    closed: rule.extend ? runOf(rule.extend) : undefined,
    beforeAscii: rule.beforeChar ? asciiFlags(rule.beforeChar) : undefined,
    beforeChar: rule.beforeChar,
    proof: !fastRules ? undefined : missProof(rule.pattern, `y${rule.anyCase ? 'i' : ''}`),
  }));
}

/** Each anchor's owners (rules by index in `list`), by the anchor's case-folded text. */
export function anchorOwners(list: readonly SecretRule[]): Map<string, AnchorOwners> {
  const anchors = new Map<string, AnchorOwners>();
  list.forEach((rule, index) => {
    for (const anchor of rule.anchors) {
      const key = foldAscii(anchor);
      let owners = anchors.get(key);
      if (!owners) {
        owners = { anyCase: [], exact: [] };
        anchors.set(key, owners);
      }
      if (rule.anyCase) {
        if (!owners.anyCase.includes(index)) owners.anyCase.push(index);
        continue;
      }
      let exact = owners.exact.find((entry) => entry.anchor === anchor);
      if (!exact) {
        exact = { anchor, rules: [] };
        owners.exact.push(exact);
      }
      if (!exact.rules.includes(index)) exact.rules.push(index);
    }
  });
  return anchors;
}

/** What a stream keeps of a chunk's end for rules whose match starts before their anchor. */
export function streamPrefixes(list: readonly SecretRule[]): { length: number; char: RegExp }[] {
  return list
    .filter((rule) => (rule.before ?? 0) > 0)
    .map((rule) => ({ length: rule.before ?? 0, char: rule.beforeChar ?? /[\s\S]/ }));
}

/** Where a stream holds `text` from for the rules in `prefixes` (`text.length`: nowhere). */
export function prefixesHeld(prefixes: readonly { length: number; char: RegExp }[], text: string): number {
  const length = text.length;
  let kept = length;
  for (const prefix of prefixes) {
    let k = 0;
    while (k < prefix.length && k < length && prefix.char.test(text[length - 1 - k]!)) k++;
    kept = Math.min(kept, length - k);
  }
  return kept;
}
