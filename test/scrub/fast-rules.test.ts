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
import { type Seeded, seeded } from '../helpers/seeded.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ANCHORS = [...new Set(BUILTIN_RULES.flatMap((rule) => rule.anchors))];

function pieceMaker(rng: Seeded): () => string {
  const caseFlip = (text: string) =>
    [...text].map((c) => (rng.int(2) === 0 ? c.toUpperCase() : c.toLowerCase())).join('');
  const makers: (() => string)[] = [
    // Any rule's anchor, in its case or another.
    () => rng.pick(ANCHORS),
    () => caseFlip(rng.pick(ANCHORS)),
    // An anchor and a value run of a length around the rules' minimums (near-misses included).
    () => `${rng.pick(ANCHORS)}${rng.text(ALNUM, rng.int(60))}`,
    () =>
      `${rng.pick(ANCHORS)}${rng.text('0123456789', 8 + rng.int(8))}-${rng.text('0123456789', 8 + rng.int(8))}-${rng.text(ALNUM, 20 + rng.int(8))}`,
    () => `ghp_${rng.text(ALNUM, 35 + rng.int(3))}`,
    () => `AKIA${rng.text('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 15 + rng.int(3))}`,
    () => `sk-${rng.text(`${ALNUM}_-`, 18 + rng.int(30))}`,
    () =>
      `eyJ${rng.text(ALNUM, 8 + rng.int(20))}.eyJ${rng.text(ALNUM, 8 + rng.int(20))}.${rng.text(ALNUM, rng.int(20))}`,
    () =>
      `${rng.pick(['password', 'token', 'api_key', 'secret', 'PASSWORD'])}${rng.pick(['=', ': ', '="', " = '"])}${rng.text(`${ALNUM}%!`, rng.int(40))}`,
    () => `${rng.text('0123456789', 14 + rng.int(3))}|${rng.text(`${ALNUM}_-`, 25 + rng.int(20))}`,
    () => `${rng.text(ALNUM, 3)}${rng.text('0123456789', 1)}Q~${rng.text(`${ALNUM}_~.-`, 30 + rng.int(6))}`,
    // Escapes and encodings.
    () => rng.pick(['%41', '%2F', '\\u0041', '\\x41', '=3D', '=\n']),
    () => Buffer.from(`ghp_${rng.text(ALNUM, 36)}`).toString('base64'),
    // Separators, unicode, long runs.
    () => rng.pick([' ', '\n', '"', "'", ',', ';', ':', '=', '&', '?', '/', '.', '-', '_', '~', '|']),
    () => rng.pick(['é', '中文', '😀', '\u0000', '\u2028', 'Ω']),
    // PII (card numbers, IBANs, emails, phones): spans of one rank with other markers, masks.
    () =>
      rng.pick(['4242 4242 4242 4242', '4111111111111111', 'GB82 WEST 1234 5698 7654 32', '+1 415 555 0100']),
    () => `${rng.text(ALNUM, 1 + rng.int(8))}@${rng.text(ALNUM, 1 + rng.int(8))}.com`,
    () => 'a'.repeat(rng.int(300)),
    () => rng.pick(ANCHORS).repeat(rng.int(40)),
    () => `${rng.text(ALNUM, 100 + rng.int(200))}`,
  ];
  return () => rng.pick(makers)();
}

function textOf(rng: Seeded, length: number): string {
  const piece = pieceMaker(rng);
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
function keysAmong(rng: Seeded, length: number): string {
  const piece = pieceMaker(rng);
  let out = '';
  while (out.length < length) {
    const key = `sk-${rng.text(ALNUM, 24)}`;
    out += rng.int(3) === 0 ? `${key}${piece()}` : `${key} `;
  }
  return out;
}

function accounting(engine: Engine) {
  const { anchorHits, ruleExecutions, failedClosed, windowChars } = engine.stats;
  return { anchorHits, ruleExecutions, failedClosed, windowChars };
}

describe('fast rule executions', () => {
  it('scrub generated adversarial text exactly as calling every regex does', () => {
    const rng = seeded(2026);
    const [fast, reference] = engines(['Qm9vdHN0cmFwLXNlY3JldC0xMjM0NQ']);
    for (let k = 0; k < 1500; k++) {
      const input = textOf(rng, 20 + rng.int(1500));
      expect(scrub(fast, input), JSON.stringify(input)).toBe(scrub(reference, input));
      const a = fast.detect(input, true);
      const b = reference.detect(input, true);
      expect(a.hold).toBe(b.hold);
      expect(renderSpans(input, mergeSpans(a.spans))).toBe(renderSpans(input, mergeSpans(b.spans)));
      sameMerge(fast, reference, input, k % 2 === 0);
    }
    expect(accounting(fast)).toEqual(accounting(reference));
  });

  it('count a match found in the text once when deciding whether an escaped run carried one (streams detect with the spans as objects)', () => {
    // Decoded, the `\\uAcce` run holds `_pass=sk-…`; the text's own scan found the assignment
    // before it. The spans as objects and as numbers were both counted, so `detect` (what a
    // stream runs) left the run where `scrubText` redacted it.
    const input = '\\uAccessKey=_pass=sk-0tTNbheLTrt_sUMGhcEl';
    const [fast] = engines([]);
    expect(renderSpans(input, mergeSpans(fast.detect(input, false).spans))).toBe(fast.scrubText(input));
  });

  it('render the scrubbed text from numbers exactly as the reference spans render', () => {
    const rng = seeded(31);
    for (const action of ['mask', 'redact'] as const) {
      const pii = { email: action, phone: action, card: action, iban: action, national_id: action };
      const [fast, reference] = engines(['Qm9vdHN0cmFwLXNlY3JldC0xMjM0NQ'], pii);
      for (let k = 0; k < 800; k++) {
        sameText(fast, reference, textOf(rng, 20 + rng.int(1500)));
        sameText(fast, reference, keysAmong(rng, 20 + rng.int(1500)));
      }
      // Past the work budget: failed-closed candidates and the encoded runs' union.
      for (let k = 0; k < 3; k++) {
        sameText(fast, reference, textOf(rng, 40_000 + rng.int(40_000)));
        sameText(fast, reference, keysAmong(rng, 40_000 + rng.int(40_000)));
      }
      sameText(fast, reference, '');
      sameText(fast, reference, 'nothing to redact here');
      expect(fast.stats.failedClosed).toBeGreaterThan(0);
      expect(accounting(fast)).toEqual(accounting(reference));
    }
  });

  it("merge masked and redacted PII spans with the rules' as numbers, as mergeSpans merges objects", () => {
    const rng = seeded(404);
    for (const action of ['mask', 'redact'] as const) {
      const pii = { email: action, phone: action, card: action, iban: action, national_id: action };
      const [fast, reference] = engines(['Qm9vdHN0cmFwLXNlY3JldC0xMjM0NQ'], pii);
      for (let k = 0; k < 600; k++) sameMerge(fast, reference, textOf(rng, 20 + rng.int(1500)), k % 2 === 0);
      // Past the work budget: the scan's spans, PII and the encoded runs' union all merge.
      for (let k = 0; k < 4; k++)
        sameMerge(fast, reference, textOf(rng, 40_000 + rng.int(40_000)), k % 2 === 0);
      expect(fast.stats.failedClosed).toBeGreaterThan(0);
      expect(accounting(fast)).toEqual(accounting(reference));
    }
  });

  it('spend the work budget at the same place and fail closed alike on long dense text', () => {
    const rng = seeded(15);
    const [fast, reference] = engines([]);
    for (let k = 0; k < 12; k++) {
      const input = textOf(rng, 40_000 + rng.int(40_000));
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
    const rng = seeded(77);
    const [fast, reference] = engines([]);
    // Added at run time: the base automaton stays the anchors alone, scanned by the dense loop
    // that leaves reports out; the secrets are in the runtime automaton.
    const secrets = Array.from(
      { length: 6 },
      (_, k) => `Zq${k}${textOf(rng, 1).replace(/\W/g, '')}runtime-secret-${k}`,
    );
    fast.addSecrets(secrets);
    reference.addSecrets(secrets);
    expect(fast.stats.baseLoop).toBe('dense');
    const many = ['token=', 'sk-', 'ghp_', 'AKIA', 'pat', 'xoxb-', 'eyJ', 'password: ', '%41', 'Q~', '|'];
    const unit = many.join('');
    for (let k = 0; k < 8; k++) {
      // The budget is spent within the first third or so; secrets and their encodings follow,
      // glued to anchors, inside values and between them.
      let input = unit.repeat(1_500 + rng.int(500));
      for (let j = 0; j < 40; j++) {
        const secret = rng.pick(secrets);
        const form = rng.pick([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')]);
        const glue = rng.pick(['', ' ', '"', '=', '\n']);
        input += `${glue}${form}${glue}${rng.pick(many)}${textOf(rng, rng.int(200))}`;
        input += unit.repeat(rng.int(50));
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
