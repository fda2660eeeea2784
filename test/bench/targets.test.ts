import { describe, expect, it } from 'vitest';
import { floorLabel, targetOn, withFloor } from '../../bench/lib/targets.js';

const atMostOne = (v: number) => v <= 1;

describe('a bench target with its floor', () => {
  it('keeps the floor contender figure judged by the same bound', () => {
    const t = withFloor(targetOn('added ≤ 1 ms', 1.7, ' ms', atMostOne), 'bare hop', 0.45, ' ms', atMostOne);
    expect(t.met).toBe(false);
    expect(t.floor).toEqual({ what: 'bare hop', measured: '0.45 ms', met: true });
    expect(floorLabel(t.floor)).toBe('bare hop: 0.45 ms');
  });

  it('says so when the floor contender misses the bound too', () => {
    const t = withFloor(
      targetOn('≥ 0.8×', 0.44, '×', (v) => v >= 0.8),
      'bare hop',
      0.65,
      '×',
      (v) => v >= 0.8,
    );
    expect(floorLabel(t.floor)).toBe('bare hop: 0.65×, misses it too');
  });

  it('leaves the target without a floor when the contender was not measured', () => {
    const t = withFloor(
      targetOn('added ≤ 1 ms', 1.7, ' ms', atMostOne),
      'bare hop',
      Number.NaN,
      ' ms',
      atMostOne,
    );
    expect(t.floor).toBeUndefined();
    expect(floorLabel(t.floor)).toBe('');
  });
});
