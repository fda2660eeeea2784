import { describe, expect, it } from 'vitest';
import type { ApprovalRule } from '../policy/schema/index.js';
import { approvalApplies, argumentAt, conditionHolds } from './conditions.js';

const rule = (when: ApprovalRule['when']): ApprovalRule => ({
  when,
  approvers: ['approver'],
  quorum: 1,
  timeout: 60_000,
  allow_edit: false,
});

describe('approvalApplies', () => {
  it('always holds a call under `always`', () => {
    expect(approvalApplies(rule('always'), {}, false)).toBe(true);
  });

  it('holds a call under `tainted` only when the run is tainted', () => {
    expect(approvalApplies(rule('tainted'), {}, false)).toBe(false);
    expect(approvalApplies(rule('tainted'), {}, true)).toBe(true);
  });

  it('holds a call when any condition of the list holds', () => {
    const r = rule([
      { arg: 'amount', gt: 100 },
      { arg: 'currency', ne: 'EUR' },
    ]);
    expect(approvalApplies(r, { amount: 5, currency: 'EUR' }, false)).toBe(false);
    expect(approvalApplies(r, { amount: 500, currency: 'EUR' }, false)).toBe(true);
    expect(approvalApplies(r, { amount: 5, currency: 'USD' }, false)).toBe(true);
  });
});

describe('conditionHolds', () => {
  it('reads the comparisons of one condition together, as a range', () => {
    const c = { arg: 'amount', gte: 100, lte: 1000 };
    expect(conditionHolds(c, { amount: 99 })).toBe(false);
    expect(conditionHolds(c, { amount: 100 })).toBe(true);
    expect(conditionHolds(c, { amount: 1001 })).toBe(false);
  });

  it('holds the call when the argument is missing', () => {
    expect(conditionHolds({ arg: 'amount', gt: 100 }, {})).toBe(true);
    expect(conditionHolds({ arg: 'env', eq: 'production' }, {})).toBe(true);
  });

  it('holds the call when a number arrives as a string, so "1e9" cannot slip past `gt`', () => {
    expect(conditionHolds({ arg: 'amount', gt: 100 }, { amount: '1e9' })).toBe(true);
    expect(conditionHolds({ arg: 'amount', lt: 100 }, { amount: Number.NaN })).toBe(true);
  });

  it('holds the call when a comparison meets an object or array', () => {
    expect(conditionHolds({ arg: 'env', eq: 'prod' }, { env: ['prod'] })).toBe(true);
    expect(conditionHolds({ arg: 'to', matches: '@example\\.com$' }, { to: { a: 1 } })).toBe(true);
  });

  it('compares strings, numbers and booleans by equality and membership', () => {
    expect(conditionHolds({ arg: 'env', eq: 'prod' }, { env: 'prod' })).toBe(true);
    expect(conditionHolds({ arg: 'env', eq: 'prod' }, { env: 'dev' })).toBe(false);
    expect(conditionHolds({ arg: 'dry', eq: false }, { dry: false })).toBe(true);
    expect(conditionHolds({ arg: 'region', in: ['eu', 'us'] }, { region: 'us' })).toBe(true);
    expect(conditionHolds({ arg: 'region', in: ['eu', 'us'] }, { region: 'ap' })).toBe(false);
  });

  it('matches a regular expression (RE2) against a string argument', () => {
    const c = { arg: 'to', matches: '@[a-z0-9.-]+\\.test$' };
    expect(conditionHolds(c, { to: 'a@example.com' })).toBe(false);
    expect(conditionHolds(c, { to: 'a@evil.test' })).toBe(true);
  });

  it('holds the call when a pattern cannot run under RE2 (the policy schema refuses it at load)', () => {
    expect(conditionHolds({ arg: 'to', matches: '@(?!example\\.com$)' }, { to: 'a@example.com' })).toBe(true);
  });
});

describe('argumentAt', () => {
  it('follows a JSON pointer into nested objects and arrays, with ~0 and ~1 escapes', () => {
    const args = { items: [{ amount: 7 }], 'a/b': { '~x': 1 } };
    expect(argumentAt(args, '/items/0/amount')).toBe(7);
    expect(argumentAt(args, '/a~1b/~0x')).toBe(1);
    expect(argumentAt(args, '/items/1/amount')).toBeUndefined();
  });

  it('never resolves inherited properties such as __proto__ or constructor', () => {
    expect(argumentAt({}, 'constructor')).toBeUndefined();
    expect(argumentAt({}, '/__proto__')).toBeUndefined();
    expect(argumentAt({ a: {} }, '/a/toString')).toBeUndefined();
  });
});
