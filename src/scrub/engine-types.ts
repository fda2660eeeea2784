/** What the detection engine (engine.ts) takes, gives and counts. */
import type { AhoCorasick } from './aho-corasick.js';
import type { PiiActions } from './pii.js';
import type { CompiledPiiSet } from './pii-scan.js';
import type { SecretRule } from './rules/types.js';
import type { Span } from './spans.js';

export const REDACTED_SECRET = '[REDACTED:secret]';
/** An encoded run redacted unchecked, past the scan's work budget (see detectDecoded). */
export const REDACTED_ENCODED = '[REDACTED:encoded]';

export interface ScrubStats {
  /**
   * Rule anchors found in scanned text: one per rule that owns the anchor. Inside a fail-closed
   * redaction past the total budget, where no rule runs, an anchor of rules that take one exact
   * case counts for those rules in any case (the scan leaves the report out unchecked).
   */
  anchorHits: number;
  /** Rule pattern executions: at most one per anchor hit. */
  ruleExecutions: number;
  /** PII pattern executions: one per candidate found plus one final miss per detector. */
  piiExecutions: number;
  /** Known-secret forms compiled into automata so far (rebuild work of `addSecrets` and `forgetSecrets`). */
  formsCompiled: number;
  /** Characters read by rule and PII pattern executions (estimated for failed ones). */
  windowChars: number;
  /** Candidates redacted without their checks because their rule ran out of work budget. */
  failedClosed: number;
  /** Which loop scans the base automaton (anchors and configured secrets; AhoCorasick.loop). */
  baseLoop: AhoCorasick['loop'];
}

export interface Detection {
  spans: Span[];
  /** For a stream: the text from here on could still be part of a match that continues in the next chunk. */
  hold: number;
}

export interface Engine {
  addSecrets(values: Iterable<string>): void;
  /** Stops matching secrets added at run time (automata.ts `KnownSecrets.forget`). */
  forgetSecrets(values: Iterable<string>): void;
  /** Known-secret forms built into the runtime automata, live or forgotten but not yet rebuilt away. */
  heldForms(): number;
  /** Finds spans; `pii` (from `compilePii`) overrides the engine's own PII actions. */
  detect(input: string, streaming: boolean, pii?: CompiledPiiSet): Detection;
  /**
   * `detect` with its spans merged: what `mergeSpans(detect(…).spans)` gives (same spans, same
   * order, same replacements), merged from the scan's number buffers without a span object for
   * each one found (spans.ts `mergeSpans` is the reference: `fastRules` off calls it).
   */
  detectMerged(input: string, streaming: boolean, pii?: CompiledPiiSet): Detection;
  /**
   * The text scrubbed: what `renderSpans(input, detectMerged(input, false, pii).spans)` gives,
   * rendered from the merge's numbers without a span object per merged span.
   */
  scrubText(input: string, pii?: CompiledPiiSet): string;
  /** PII detectors for other actions, sharing this engine's secrets and rules. */
  compilePii(actions: PiiActions): CompiledPiiSet;
  readonly stats: ScrubStats;
}

export interface EngineOptions {
  secrets: Iterable<string>;
  rules: readonly SecretRule[];
  pii: PiiActions;
  /**
   * Off: every rule execution calls its regex (`exec`), with no miss proof (miss-proof.ts) and
   * no `test` for whole-match rules, and the scan reports every anchor past the work budget too
   * (no ScanSkip). The reference the differential tests compare with.
   */
  fastRules?: boolean;
}
