import { describe, expect, it } from 'vitest';
import { toolRule } from '../policy/schema/tool.js';
import { tightenSchema } from './tighten.js';

const upstream = {
  type: 'object' as const,
  properties: {
    order_id: { type: 'string', maxLength: 64 },
    status: { type: 'string', enum: ['pending', 'shipped', 'delivered'] },
    limit: { type: 'number', minimum: 1, maximum: 500 },
    note: { type: 'string', pattern: '^[a-z ]*$' },
  },
  required: ['order_id'],
};

const rule = (args: unknown) => toolRule.parse({ class: 'read', arguments: args });

describe('tightening an upstream schema', () => {
  it('adds the policy pattern and closes the object', () => {
    const result = tightenSchema(upstream, rule({ order_id: { pattern: '^ORD-[0-9]{6}$' } }));
    expect(result).toMatchObject({
      ok: true,
      schema: {
        additionalProperties: false,
        properties: { order_id: { pattern: '^ORD-[0-9]{6}$', maxLength: 64 } },
      },
    });
  });

  it('closes the object even when the upstream left it open', () => {
    const result = tightenSchema({ ...upstream, additionalProperties: true } as never, rule({}));
    expect(result.ok && result.schema.additionalProperties).toBe(false);
  });

  it('keeps both patterns when the upstream has its own', () => {
    const result = tightenSchema(upstream, rule({ note: { pattern: '^[a-z]{1,10}$' } }));
    expect(result.ok && result.schema.properties).toMatchObject({
      note: { pattern: '^[a-z ]*$', allOf: [{ pattern: '^[a-z]{1,10}$' }] },
    });
  });

  it('refuses a maxLength that would widen the upstream', () => {
    const result = tightenSchema(upstream, rule({ order_id: { maxLength: 1000 } }));
    expect(result).toEqual({
      ok: false,
      code: 'policy_widens',
      problems: ['argument "order_id": maxLength 1000 would widen the upstream\'s maxLength 64'],
    });
  });

  it('refuses a minimum that would widen the upstream', () => {
    expect(tightenSchema(upstream, rule({ limit: { minimum: 0 } })).ok).toBe(false);
  });

  it('refuses an enum value the upstream does not accept', () => {
    const result = tightenSchema(upstream, rule({ status: { enum: ['pending', 'cancelled'] } }));
    expect(result).toEqual({
      ok: false,
      code: 'policy_widens',
      problems: ['argument "status": enum values ["cancelled"] are not accepted by the upstream'],
    });
  });

  it('refuses a rule for an argument the upstream does not have', () => {
    expect(tightenSchema(upstream, rule({ customer: { maxLength: 5 } })).ok).toBe(false);
  });

  it('narrows an enum to a subset', () => {
    const result = tightenSchema(upstream, rule({ status: { enum: ['pending'] } }));
    expect(result.ok && result.schema.properties).toMatchObject({ status: { enum: ['pending'] } });
  });

  it('makes an optional argument required when the rule says so', () => {
    const result = tightenSchema(upstream, rule({ limit: { required: true, maximum: 50 } }));
    expect(result.ok && result.schema.required).toEqual(['order_id', 'limit']);
  });

  it('does not modify the upstream definition it was given', () => {
    const before = JSON.stringify(upstream);
    tightenSchema(upstream, rule({ order_id: { pattern: '^x$' } }));
    expect(JSON.stringify(upstream)).toBe(before);
  });
});
