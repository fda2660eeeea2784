/** The per-run limit on the agent's own count_tokens: a minute's worth and a few at once. */
import { describe, expect, it } from 'vitest';
import { COUNTS_OPEN, COUNTS_PER_MINUTE, CountLimiter } from './count-limit.js';

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, limiter: new CountLimiter(() => time.now) };
}

describe('CountLimiter', () => {
  it('admits a minute’s worth of counts, then says when the oldest leaves the minute', () => {
    const { time, limiter } = clock();
    for (let k = 0; k < COUNTS_PER_MINUTE; k++) {
      const admitted = limiter.admit('run-a');
      expect(admitted.ok).toBe(true);
      if (admitted.ok) admitted.release();
      time.now += 100;
    }
    const refused = limiter.admit('run-a');
    expect(refused).toEqual({ ok: false, retryAfterS: 54 });
    time.now += 54_000;
    expect(limiter.admit('run-a').ok).toBe(true);
  });

  it('admits at most a few counts in flight at once, another as soon as one ends', () => {
    const { limiter } = clock();
    const open = Array.from({ length: COUNTS_OPEN }, () => limiter.admit('run-a'));
    expect(open.every((a) => a.ok)).toBe(true);
    expect(limiter.admit('run-a')).toEqual({ ok: false, retryAfterS: 1 });
    const first = open[0]!;
    if (first.ok) {
      first.release();
      first.release();
    }
    expect(limiter.admit('run-a').ok).toBe(true);
    expect(limiter.admit('run-a').ok).toBe(false);
  });

  it('keeps each run’s counts apart', () => {
    const { limiter } = clock();
    for (let k = 0; k < COUNTS_OPEN; k++) limiter.admit('run-a');
    expect(limiter.admit('run-a').ok).toBe(false);
    expect(limiter.admit('run-b').ok).toBe(true);
  });

  it('forgets runs whose minute has passed with nothing in flight (memory stays bounded)', () => {
    const { time, limiter } = clock();
    for (let k = 0; k < 5000; k++) {
      const admitted = limiter.admit(`run-${k}`);
      if (admitted.ok) admitted.release();
      time.now += 50;
    }
    expect(limiter.size).toBeLessThan(2300);
  });
});
