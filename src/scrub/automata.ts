/**
 * The engine's automata (run by scan-phase.ts): one Aho–Corasick automaton per set of patterns, each pattern
 * the case-folded text of rule anchors and known-secret forms.
 *
 * Known secrets live in three automata: a base one with the rule anchors and the configured
 * secrets (about 400 forms each with the wrapped ones), built once; a runtime one for secrets
 * added since (run tokens, grants: about 15 plain forms each); and a small delta. Adding rebuilds
 * only the delta; the delta is folded into the runtime automaton once it grows past ~√ of it, so
 * an addition never rebuilds the configured secrets (with 1,000 configured, a fold into the base
 * took about 2 s) and costs little on average. A scan makes one pass per non-empty automaton: one
 * with no runtime secrets, at most three.
 */
import { type AhoCorasick, type AhoCorasickOptions, buildAhoCorasick, foldAscii } from './aho-corasick.js';
import type { AnchorOwners, ExactAnchor } from './compiled-rules.js';
import { knownSecretForms } from './encodings.js';
import { MIN_CUT_DEPTH } from './prefix-walk.js';

/** Secrets shorter than this are not matched: they would redact ordinary words. */
export const MIN_SECRET_LENGTH = 6;

/**
 * What one automaton pattern stands for. Automata match ASCII letters in either case (one path
 * for `token`, `TOKEN`, `Token`), so a pattern is the folded text of: known-secret forms (exact:
 * checked at the hit), anchors of rules that take any case, and anchors of rules that take one
 * exact case (checked at the hit).
 */
export interface Automaton {
  ac: AhoCorasick;
  length: Int32Array;
  secrets: (readonly string[] | undefined)[];
  anyCase: (readonly number[] | undefined)[];
  exact: (readonly ExactAnchor[] | undefined)[];
  /** Per pattern: its hits when reported inside a fail-closed redaction (ScanSkip), or -1. */
  quiet: Int32Array;
  /** Per pattern of case-sensitive anchors only (with a capital): their spellings (scan-phase.ts). */
  cased: (readonly string[] | undefined)[];
  /** Per quiet pattern: every rule that owns it, in any case or in one (for ScanSkip.until). */
  owners: (Int32Array | undefined)[];
  /**
   * Per pattern, scratch of the scan in progress (ScanSkip.until): its reports ending at or
   * before this stand inside a match or redaction of every rule that owns it. 0 between scans.
   */
  until: Int32Array;
}

const NO_ANCHORS: ReadonlyMap<string, AnchorOwners> = new Map();

/**
 * The delta is rebuilt on every addition (a run token, a grant): should it fall back to the
 * JavaScript loop (its walks over budget, or too wide to cut), that loop's table stays small.
 */
const DELTA_DENSE_ENTRIES = 16_384;
/**
 * Table entries (8 MiB) the WebAssembly loop may take for the base automaton, built once: the
 * anchors with up to about 30 configured secrets (~400 forms each) fit whole or cut deep enough
 * (aho-corasick.ts, prefix-walk.ts). That loop spends its time in the shallow rows whatever the
 * table's size, and is several times faster than the JavaScript one.
 */
const BASE_WASM_ENTRIES = 2_000_000;
/**
 * The secrets added at run time (the runtime automaton and the delta) are rebuilt often, at
 * every run's start and end, and every text a gateway scrubs is read by them (every live run's
 * token is one): they take the WebAssembly loop cut at MIN_CUT_DEPTH, whose table (at most 1
 * MiB) holds only the states down to the cut. Scanning 1 MiB of ordinary text then takes about
 * 1.1 ms whatever the number of tokens, against 4–5 for the JavaScript loop, and a build about
 * as long as that loop's tables took (ten run tokens 0.46 vs 0.42 ms, 32 1.4 vs 1.2); a whole
 * table took 1.7 ms for ten tokens and 6.5 for 32.
 */
const ADDED_TABLES = { wasmEntries: 262_144, maxCut: MIN_CUT_DEPTH } as const;

export function buildAutomaton(
  anchors: ReadonlyMap<string, AnchorOwners>,
  forms: readonly string[],
  tables: Pick<AhoCorasickOptions, 'denseEntries' | 'wasmEntries' | 'maxCut'> = {},
): Automaton {
  const index = new Map<string, number>();
  const patterns: string[] = [];
  const secrets: (string[] | undefined)[] = [];
  const anyCase: (readonly number[] | undefined)[] = [];
  const exact: (readonly ExactAnchor[] | undefined)[] = [];
  const slot = (key: string): number => {
    let i = index.get(key);
    if (i === undefined) {
      i = patterns.length;
      index.set(key, i);
      patterns.push(key);
      secrets.push(undefined);
      anyCase.push(undefined);
      exact.push(undefined);
    }
    return i;
  };
  for (const [key, owners] of anchors) {
    const i = slot(key);
    if (owners.anyCase.length > 0) anyCase[i] = owners.anyCase;
    if (owners.exact.length > 0) exact[i] = owners.exact;
  }
  for (const form of forms) {
    const i = slot(foldAscii(form));
    const same = secrets[i];
    if (same) same.push(form);
    else secrets[i] = [form];
  }
  // A report the scan may leave out past the budget (ScanSkip): a rule anchor that is no known
  // secret's form; it counts one hit per rule that owns it, in any case (ScrubStats.anchorHits).
  const quiet = Int32Array.from(patterns, (_, i) => {
    if (secrets[i] !== undefined) return -1;
    let hits = anyCase[i]?.length ?? 0;
    for (const entry of exact[i] ?? []) hits += entry.rules.length;
    return hits;
  });
  const owners = patterns.map((_, i) =>
    quiet[i]! < 0
      ? undefined
      : Int32Array.from([...(anyCase[i] ?? []), ...(exact[i] ?? []).flatMap((entry) => entry.rules)]),
  );
  // A pattern of case-sensitive anchors only (`SK` of a Twilio key): reported in any other case,
  // it runs nothing. In `sk-` repeated, that was a report every three characters. (Only where a
  // spelling has a capital: text seldom writes a lower-case anchor such as `ghp_` in capitals,
  // and checking each of its hits twice cost more than that saves.)
  const cased = patterns.map((key, i) => {
    const spellings = exact[i]?.map((entry) => entry.anchor);
    if (secrets[i] !== undefined || anyCase[i] !== undefined || spellings === undefined) return undefined;
    return spellings.some((spelling) => spelling !== key) ? spellings : undefined;
  });
  return {
    ac: buildAhoCorasick(patterns, { foldCase: true, ...tables, quiet, cased }),
    length: Int32Array.from(patterns, (pattern) => pattern.length),
    secrets,
    anyCase,
    exact,
    quiet,
    cased,
    owners,
    until: new Int32Array(patterns.length),
  };
}

/**
 * The automata of an engine's known secrets: `base` (the anchors and the configured secrets),
 * `runtime` and `delta` (secrets added since), scanned in that order, each when not empty.
 *
 * A secret added at run time can be forgotten (a run token once its run ended): a gateway that
 * runs for weeks mints a token per run, and keeping every one made each new run rebuild more
 * (20,000 runs: 19 ms per run on average, a fold of 4.6 s holding the event loop, heap +50 MB).
 * What is held is bounded by the live secrets instead: a forgotten form leaves the delta at once
 * (it is rebuilt anyway) and the runtime automaton once half of it is forgotten; until then it
 * is still redacted, which costs nothing (an ended run's token opens nothing).
 */
export class KnownSecrets {
  base: Automaton;
  runtime: Automaton | null = null;
  delta: Automaton | null = null;
  /** Forms in the base automaton (the configured secrets): never forgotten. */
  private readonly configured = new Set<string>();
  /** Forms of the live runtime secrets, each with how many live secrets have it. */
  private readonly live = new Map<string, number>();
  private runtimeForms: string[] = [];
  private inRuntime = new Set<string>();
  private deltaForms: string[] = [];
  /** Forms in `runtimeForms` no live secret has: dropped at the next rebuild of `runtime`. */
  private forgotten = 0;

  constructor(private readonly anchors: ReadonlyMap<string, AnchorOwners>) {
    this.base = buildAutomaton(anchors, []);
  }

  /** Whether no secret is known: neither configured nor live at run time. */
  get none(): boolean {
    return this.configured.size === 0 && this.live.size === 0;
  }

  /** Forms built into `runtime` and `delta`, live or forgotten (for tests and the bench). */
  get held(): number {
    return this.runtimeForms.length + this.deltaForms.length;
  }

  /**
   * Adds the forms of `values`; `fold`: the configured secrets, at start, into the base automaton
   * with their wrapped forms. Returns how many forms were compiled into automata.
   */
  add(values: Iterable<string>, fold: boolean): number {
    let added = false;
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH) continue;
      // Wrapped forms (about 400 per secret) only for the configured secrets: secrets added at run
      // time (run tokens, grants) would make each addition rebuild hundreds of patterns, stalling
      // the event loop; bulkhead's own tokens are caught in their plain forms by a rule as well.
      for (const form of knownSecretForms(value, { wrapped: fold })) {
        if (form.length < MIN_SECRET_LENGTH || this.configured.has(form)) continue;
        if (fold) {
          this.configured.add(form);
          this.deltaForms.push(form);
          added = true;
          continue;
        }
        const holders = this.live.get(form) ?? 0;
        this.live.set(form, holders + 1);
        if (holders > 0) continue;
        // Forgotten but not yet rebuilt away: still in `runtime`, live again. (A forgotten form
        // leaves the delta at once, so a form no live secret has is in the delta never.)
        if (this.inRuntime.has(form)) this.forgotten--;
        else {
          this.deltaForms.push(form);
          added = true;
        }
      }
    }
    if (!added) return 0;
    const forms = this.deltaForms;
    if (fold) {
      // Only at start: the configured secrets join the anchors in the base automaton.
      const base = buildAutomaton(this.anchors, forms, { wasmEntries: BASE_WASM_ENTRIES });
      this.base.ac.release();
      this.base = base;
      this.deltaForms = [];
      return forms.length;
    }
    // Folding when the delta passes ~√(runtime) balances rebuilding the delta on every addition
    // against rebuilding the runtime automaton now and then: both stay small per addition.
    if (forms.length > Math.max(256, 8 * Math.sqrt(this.runtimeForms.length))) return this.fold();
    return this.buildDelta();
  }

  /**
   * Forgets the forms of runtime secrets `values` (configured ones stay). Returns how many forms
   * were compiled into automata doing so.
   */
  forget(values: Iterable<string>): number {
    let inDelta = false;
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH) continue;
      for (const form of knownSecretForms(value, { wrapped: false })) {
        const holders = this.live.get(form);
        if (holders === undefined) continue;
        if (holders > 1) {
          this.live.set(form, holders - 1);
          continue;
        }
        this.live.delete(form);
        const at = this.deltaForms.indexOf(form);
        if (at >= 0) {
          this.deltaForms.splice(at, 1);
          inDelta = true;
        } else this.forgotten++;
      }
    }
    if (this.forgotten > 0 && this.forgotten * 2 >= this.runtimeForms.length) return this.fold();
    return inDelta ? this.buildDelta() : 0;
  }

  /** The live runtime and delta forms into one runtime automaton, the delta emptied. */
  private fold(): number {
    this.runtimeForms = this.runtimeForms.concat(this.deltaForms).filter((form) => this.live.has(form));
    this.inRuntime = new Set(this.runtimeForms);
    this.deltaForms = [];
    this.forgotten = 0;
    const runtime =
      this.runtimeForms.length > 0 ? buildAutomaton(NO_ANCHORS, this.runtimeForms, ADDED_TABLES) : null;
    // The automata replaced are scanned no more: their WebAssembly memory serves the next ones.
    this.runtime?.ac.release();
    this.delta?.ac.release();
    this.runtime = runtime;
    this.delta = null;
    return this.runtimeForms.length;
  }

  private buildDelta(): number {
    const forms = this.deltaForms;
    const delta =
      forms.length > 0
        ? buildAutomaton(NO_ANCHORS, forms, { denseEntries: DELTA_DENSE_ENTRIES, ...ADDED_TABLES })
        : null;
    this.delta?.ac.release();
    this.delta = delta;
    return forms.length;
  }
}
