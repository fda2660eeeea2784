/**
 * Forgetting runtime secrets (a run token once its run ended): a scrubber that lives for weeks
 * holds what is live, not every secret it was ever told, and never forgets a configured one.
 */
import { describe, expect, it } from 'vitest';
import { createScrubber, REDACTED_SECRET } from './index.js';
import { replicaOf } from './replica.js';

const secretOf = (i: number) => `zq-run-secret-${i}-${(i * 7919) % 100_003}-k8`;

describe('createScrubber: forgetting runtime secrets', () => {
  it('stops matching a runtime secret once it is forgotten', () => {
    const s = createScrubber();
    s.addSecrets([secretOf(1)]);
    expect(s.text(`a ${secretOf(1)} b`)).toBe(`a ${REDACTED_SECRET} b`);

    s.forgetSecrets([secretOf(1)]);

    expect(s.text(`a ${secretOf(1)} b`)).toBe(`a ${secretOf(1)} b`);
    expect(s.heldForms()).toBe(0);
  });

  it('drops forgotten secrets folded into the runtime automaton once half of it is forgotten', () => {
    const s = createScrubber();
    for (let i = 0; i < 300; i++) s.addSecrets([secretOf(i)]);
    const held = s.heldForms();

    for (let i = 0; i < 150; i++) s.forgetSecrets([secretOf(i)]);

    expect(s.heldForms()).toBeLessThan(held * 0.6);
    // The first ones forgotten were rebuilt away; later ones may wait for the next rebuild.
    expect(s.text(`${secretOf(0)} ${secretOf(1)}`)).toBe(`${secretOf(0)} ${secretOf(1)}`);
    expect(s.text(`${secretOf(150)} ${secretOf(299)}`)).toBe(`${REDACTED_SECRET} ${REDACTED_SECRET}`);
  });

  it('keeps matching a configured secret when the same value added at run time is forgotten', () => {
    const s = createScrubber({ secrets: [secretOf(7)] });
    s.addSecrets([secretOf(7)]);

    s.forgetSecrets([secretOf(7)]);

    expect(s.text(`x ${secretOf(7)} y`)).toBe(`x ${REDACTED_SECRET} y`);
  });

  it('keeps a secret added twice until it is forgotten twice', () => {
    const s = createScrubber();
    s.addSecrets([secretOf(3)]);
    s.addSecrets([secretOf(3)]);

    s.forgetSecrets([secretOf(3)]);
    expect(s.text(secretOf(3))).toBe(REDACTED_SECRET);

    s.forgetSecrets([secretOf(3)]);
    expect(s.text(secretOf(3))).toBe(secretOf(3));
  });

  it('matches a forgotten secret again once it is added again, before and after a rebuild', () => {
    const s = createScrubber();
    for (let i = 0; i < 300; i++) s.addSecrets([secretOf(i)]);
    s.forgetSecrets([secretOf(0)]);
    s.addSecrets([secretOf(0)]);
    for (let i = 1; i < 200; i++) s.forgetSecrets([secretOf(i)]);

    expect(s.text(`${secretOf(0)} ${secretOf(1)} ${secretOf(299)}`)).toBe(
      `${REDACTED_SECRET} ${secretOf(1)} ${REDACTED_SECRET}`,
    );
  });

  it('holds and rebuilds in proportion to the live secrets, not to every secret ever added', () => {
    const s = createScrubber();
    const live = 20;
    const compiledPer = (from: number, to: number) => {
      const before = s.stats.formsCompiled;
      for (let i = from; i < to; i++) {
        s.addSecrets([secretOf(i)]);
        if (i >= live) s.forgetSecrets([secretOf(i - live)]);
      }
      return (s.stats.formsCompiled - before) / (to - from);
    };
    const early = compiledPer(0, 500);
    const late = compiledPer(500, 3_000);

    const oneSecret = (() => {
      const probe = createScrubber();
      probe.addSecrets([secretOf(0)]);
      return probe.heldForms();
    })();
    expect(s.heldForms()).toBeLessThanOrEqual(live * oneSecret * 2);
    expect(late).toBeLessThanOrEqual(early * 1.5);
    expect(s.text(secretOf(2_999))).toBe(REDACTED_SECRET);
    expect(s.text(secretOf(2_000))).toBe(secretOf(2_000));
  });

  it('replays to a new replica only the secrets not forgotten', () => {
    const s = createScrubber();
    s.addSecrets([secretOf(1), secretOf(2)]);
    s.addSecrets([secretOf(2)]);

    s.forgetSecrets([secretOf(1), secretOf(2)]);

    expect(replicaOf(s)?.base.added()).toEqual([secretOf(2)]);
  });
});
