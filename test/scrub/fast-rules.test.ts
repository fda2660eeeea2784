/**
 * The engine's fast rule executions (a miss proved from the pattern without calling the regex,
 * `test` instead of `exec` for rules that redact their whole match, spans kept as numbers until
 * the scan ends) against the straightforward ones (`fastRules: false`: every execution calls
 * `exec`), on generated adversarial text: the anchors of every rule packed densely, near-misses
 * one character short, real-shaped secrets overlapping each other, unicode, long runs, and texts
 * long enough to spend the work budget and fail closed, with known secrets past that point (the
 * fast scan leaves out the anchors' reports inside a fail-closed redaction, not the secrets').
 * Output, stream holds and the work accounting (hits, executions, fail-closed candidates) must
 * be the same; and the spans the fast engine merges as numbers (`detectMerged`) the same objects
 * as `mergeSpans` makes of the reference's (`sameMerge`).
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/scrub/engine.js';
import type { Engine } from '../../src/scrub/engine-types.js';
import { DEFAULT_PII_ACTIONS, type PiiActions } from '../../src/scrub/pii.js';
import { BUILTIN_RULES } from '../../src/scrub/rules/index.js';
import { mergeSpans, renderSpans } from '../../src/scrub/spans.js';

function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return state;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ANCHORS = [...new Set(BUILTIN_RULES.flatMap((rule) => rule.anchors))];

function pieceMaker(next: () => number): () => string {
  const pick = <T>(list: readonly T[]): T => list[next() % list.length]!;
  const run = (alphabet: string, length: number) => {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[next() % alphabet.length];
    return out;
  };
  const caseFlip = (text: string) =>
    [...text].map((c) => (next() % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');
  const makers: (() => string)[] = [
    // Any rule's anchor, in its case or another.
    () => pick(ANCHORS),
    () => caseFlip(pick(ANCHORS)),
    // An anchor and a value run of a length around the rules' minimums (near-misses included).
    () => `${pick(ANCHORS)}${run(ALNUM, next() % 60)}`,
    () =>
      `${pick(ANCHORS)}${run('0123456789', 8 + (next() % 8))}-${run('0123456789', 8 + (next() % 8))}-${run(ALNUM, 20 + (next() % 8))}`,
    () => `ghp_${run(ALNUM, 35 + (next() % 3))}`,
    () => `AKIA${run('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 15 + (next() % 3))}`,
    () => `sk-${run(`${ALNUM}_-`, 18 + (next() % 30))}`,
    () =>
      `eyJ${run(ALNUM, 8 + (next() % 20))}.eyJ${run(ALNUM, 8 + (next() % 20))}.${run(ALNUM, next() % 20)}`,
    () =>
      `${pick(['password', 'token', 'api_key', 'secret', 'PASSWORD'])}${pick(['=', ': ', '="', " = '"])}${run(`${ALNUM}%!`, next() % 40)}`,
    () => `${run('0123456789', 14 + (next() % 3))}|${run(`${ALNUM}_-`, 25 + (next() % 20))}`,
    () => `${run(ALNUM, 3)}${run('0123456789', 1)}Q~${run(`${ALNUM}_~.-`, 30 + (next() % 6))}`,
    // Escapes and encodings.
    () => pick(['%41', '%2F', '\\u0041', '\\x41', '=3D', '=\n']),
    () => Buffer.from(`ghp_${run(ALNUM, 36)}`).toString('base64'),
    // Separators, unicode, long runs.
    () => pick([' ', '\n', '"', "'", ',', ';', ':', '=', '&', '?', '/', '.', '-', '_', '~', '|']),
    () => pick(['é', '中文', '😀', '\u0000', '\u2028', 'Ω']),
    // PII (card numbers, IBANs, emails, phones): spans of one rank with other markers, masks.
    () => pick(['4242 4242 4242 4242', '4111111111111111', 'GB82 WEST 1234 5698 7654 32', '+1 415 555 0100']),
    () => `${run(ALNUM, 1 + (next() % 8))}@${run(ALNUM, 1 + (next() % 8))}.com`,
    () => 'a'.repeat(next() % 300),
    () => pick(ANCHORS).repeat(next() % 40),
    () => `${run(ALNUM, 100 + (next() % 200))}`,
  ];
  return () => pick(makers)();
}

function textOf(next: () => number, length: number): string {
  const piece = pieceMaker(next);
  let out = '';
  while (out.length < length) out += piece();
  return out;
}

function engines(secrets: string[], pii: PiiActions = DEFAULT_PII_ACTIONS): [Engine, Engine] {
  const options = { secrets, rules: BUILTIN_RULES, pii };
  return [createEngine(options), createEngine({ ...options, fastRules: false })];
}

function scrub(engine: Engine, input: string): string {
  return renderSpans(input, mergeSpans(engine.detect(input, false).spans));
}

/** The fast engine's merge of its spans as numbers is the reference's `mergeSpans`, span for span. */
function sameMerge(fast: Engine, reference: Engine, input: string, streaming: boolean): void {
  const a = fast.detectMerged(input, streaming);
  const b = reference.detect(input, streaming);
  expect(a.hold).toBe(b.hold);
  expect(a.spans.map((span) => ({ ...span }))).toEqual(mergeSpans(b.spans).map((span) => ({ ...span })));
}

/** The fast engine's text rendered from the merge's numbers (`scrubText`) is the reference's. */
function sameText(fast: Engine, reference: Engine, input: string): void {
  expect(fast.scrubText(input), JSON.stringify(input.slice(0, 200))).toBe(scrub(reference, input));
}

/** Real-shaped keys (`sk-` and 24 letters and digits, as the bench's page of keys) among other pieces. */
function keysAmong(next: () => number, length: number): string {
  const piece = pieceMaker(next);
  let out = '';
  while (out.length < length) {
    let key = 'sk-';
    for (let k = 0; k < 24; k++) key += ALNUM[next() % ALNUM.length];
    out += next() % 3 === 0 ? `${key}${piece()}` : `${key} `;
  }
  return out;
}

function accounting(engine: Engine) {
  const { anchorHits, ruleExecutions, failedClosed, windowChars } = engine.stats;
  return { anchorHits, ruleExecutions, failedClosed, windowChars };
}

describe('fast rule executions', () => {
  it('scrub generated adversarial text exactly as calling every regex does', () => {
    const next = generator(2026);
    const [fast, reference] = engines(['Qm9vdHN0cmFwLXNlY3JldC0xMjM0NQ']);
    for (let k = 0; k < 1500; k++) {
      const input = textOf(next, 20 + (next() % 1500));
      expect(scrub(fast, input), JSON.stringify(input)).toBe(scrub(reference, input));
      const a = fast.detect(input, true);
      const b = reference.detect(input, true);
      expect(a.hold).toBe(b.hold);
      expect(renderSpans(input, mergeSpans(a.spans))).toBe(renderSpans(input, mergeSpans(b.spans)));
      sameMerge(fast, reference, input, k % 2 === 0);
    }
    expect(accounting(fast)).toEqual(accounting(reference));
  });

  it('render the scrubbed text from numbers exactly as the reference spans render', () => {
    const next = generator(31);
    for (const action of ['mask', 'redact'] as const) {
      const pii = { email: action, phone: action, card: action, iban: action, national_id: action };
      const [fast, reference] = engines(['Qm9vdHN0cmFwLXNlY3JldC0xMjM0NQ'], pii);
      for (let k = 0; k < 800; k++) {
        sameText(fast, reference, textOf(next, 20 + (next() % 1500)));
        sameText(fast, reference, keysAmong(next, 20 + (next() % 1500)));
      }
      // Past the work budget: failed-closed candidates and the encoded runs' union.
      for (let k = 0; k < 3; k++) {
        sameText(fast, reference, textOf(next, 40_000 + (next() % 40_000)));
        sameText(fast, reference, keysAmong(next, 40_000 + (next() % 40_000)));
      }
      sameText(fast, reference, '');
      sameText(fast, reference, 'nothing to redact here');
      expect(fast.stats.failedClosed).toBeGreaterThan(0);
      expect(accounting(fast)).toEqual(accounting(reference));
    }
  });

  it("merge masked and redacted PII spans with the rules' as numbers, as mergeSpans merges objects", () => {
    const next = generator(404);
    for (const action of ['mask', 'redact'] as const) {
      const pii = { email: action, phone: action, card: action, iban: action, national_id: action };
      const [fast, reference] = engines(['Qm9vdHN0cmFwLXNlY3JldC0xMjM0NQ'], pii);
      for (let k = 0; k < 600; k++)
        sameMerge(fast, reference, textOf(next, 20 + (next() % 1500)), k % 2 === 0);
      // Past the work budget: the scan's spans, PII and the encoded runs' union all merge.
      for (let k = 0; k < 4; k++)
        sameMerge(fast, reference, textOf(next, 40_000 + (next() % 40_000)), k % 2 === 0);
      expect(fast.stats.failedClosed).toBeGreaterThan(0);
      expect(accounting(fast)).toEqual(accounting(reference));
    }
  });

  it('spend the work budget at the same place and fail closed alike on long dense text', () => {
    const next = generator(15);
    const [fast, reference] = engines([]);
    for (let k = 0; k < 12; k++) {
      const input = textOf(next, 40_000 + (next() % 40_000));
      expect(scrub(fast, input)).toBe(scrub(reference, input));
      sameMerge(fast, reference, input, k % 2 === 0);
    }
    // Anchors of many rules every few bytes: the bench's worst case, past its budget.
    const many = ['token=', 'sk-', 'ghp_', 'AKIA', 'pat', 'xoxb-', 'eyJ', 'password: ', '%41', 'Q~', '|'];
    const dense = many.join('').repeat(2_000);
    expect(scrub(fast, dense)).toBe(scrub(reference, dense));
    sameMerge(fast, reference, dense, false);
    sameMerge(fast, reference, dense, true);
    expect(fast.stats.failedClosed).toBeGreaterThan(0);
    expect(accounting(fast)).toEqual(accounting(reference));
  });

  it('match known secrets past the work budget, inside and after fail-closed redactions, alike', () => {
    const next = generator(77);
    const [fast, reference] = engines([]);
    // Added at run time: the base automaton stays the anchors alone, scanned by the dense loop
    // that leaves reports out; the secrets are in the runtime automaton.
    const secrets = Array.from(
      { length: 6 },
      (_, k) => `Zq${k}${textOf(next, 1).replace(/\W/g, '')}runtime-secret-${k}`,
    );
    fast.addSecrets(secrets);
    reference.addSecrets(secrets);
    expect(fast.stats.baseLoop).toBe('dense');
    const many = ['token=', 'sk-', 'ghp_', 'AKIA', 'pat', 'xoxb-', 'eyJ', 'password: ', '%41', 'Q~', '|'];
    const unit = many.join('');
    for (let k = 0; k < 8; k++) {
      // The budget is spent within the first third or so; secrets and their encodings follow,
      // glued to anchors, inside values and between them.
      let input = unit.repeat(1_500 + (next() % 500));
      for (let j = 0; j < 40; j++) {
        const secret = secrets[next() % secrets.length]!;
        const form = [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')][
          next() % 3
        ]!;
        const glue = ['', ' ', '"', '=', '\n'][next() % 5]!;
        input += `${glue}${form}${glue}${many[next() % many.length]}${textOf(next, next() % 200)}`;
        input += unit.repeat(next() % 50);
      }
      expect(scrub(fast, input)).toBe(scrub(reference, input));
      const a = fast.detect(input, true);
      const b = reference.detect(input, true);
      expect(a.hold).toBe(b.hold);
      expect(renderSpans(input, mergeSpans(a.spans))).toBe(renderSpans(input, mergeSpans(b.spans)));
      sameMerge(fast, reference, input, k % 2 === 0);
    }
    expect(fast.stats.failedClosed).toBeGreaterThan(0);
    expect(accounting(fast)).toEqual(accounting(reference));
  });
});
