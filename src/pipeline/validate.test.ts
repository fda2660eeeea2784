import { describe, expect, it } from 'vitest';
import { Catalog } from '../gateway/catalog.js';
import { toolRule } from '../policy/schema/tool.js';
import { walkArguments } from './arguments-walk.js';
import type { ToolCall } from './stage.js';
import { validateStage } from './validate.js';

const catalog = new Catalog({
  rules: {
    orders: {
      get_order_status: toolRule.parse({
        class: 'read',
        arguments: { order_id: { pattern: '^ORD-[0-9]{6}$' } },
      }),
    },
  },
});
catalog.update('orders', [
  {
    name: 'get_order_status',
    inputSchema: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
  },
]);

function callWith(rawArgs: unknown): ToolCall {
  return { tool: catalog.get('orders__get_order_status'), rawArgs, flags: [] } as unknown as ToolCall;
}

const validate = validateStage();

async function denialOf(rawArgs: unknown) {
  const result = await validate(callWith(rawArgs));
  return result.ok ? undefined : result.denial;
}

describe('validate stage', () => {
  it('accepts arguments that match the tightened schema', async () => {
    const call = callWith({ order_id: 'ORD-000042' });
    expect(await validate(call)).toEqual({ ok: true });
    expect(call.args).toEqual({ order_id: 'ORD-000042' });
  });

  const hostile: [string, unknown, string][] = [
    ['SQL smuggled into a patterned argument', { order_id: "ORD-000001' OR '1'='1" }, '/order_id'],
    ['an extra property', { order_id: 'ORD-000001', admin: true }, '/admin'],
    ['a __proto__ key', JSON.parse('{"order_id":"ORD-000001","__proto__":{"polluted":1}}'), '/__proto__'],
    ['a constructor key', { order_id: 'ORD-000001', constructor: { prototype: {} } }, '/constructor'],
    ['a number where a string belongs', { order_id: 42 }, '/order_id'],
    ['an array where a string belongs', { order_id: ['ORD-000001'] }, '/order_id'],
    ['a trailing newline that a naive $ would accept', { order_id: 'ORD-000001\n' }, '/order_id'],
    ['a NUL byte', { order_id: 'ORD-000001\u0000' }, '/order_id'],
    ['full-width digits', { order_id: 'ORD-\uFF10\uFF10\uFF10\uFF10\uFF10\uFF11' }, '/order_id'],
    ['a right-to-left override', { order_id: 'ORD-\u202E100000' }, '/order_id'],
    ['a missing required argument', {}, ''],
    ['a 10 MB string', { order_id: `ORD-${'1'.repeat(10 * 1024 * 1024)}` }, '/order_id'],
  ];

  for (const [name, args, pointer] of hostile) {
    it(`refuses ${name} with the failing JSON pointer`, async () => {
      const denied = await denialOf(args);
      expect(denied?.code).toBe('invalid_arguments');
      expect(denied?.detail?.pointer).toBe(pointer);
    });
  }

  it('refuses arguments whose prototype was set through a __proto__ key', async () => {
    const args = Object.assign(Object.create({ isAdmin: true }) as object, { order_id: 'ORD-000001' });
    const denied = await denialOf(args);
    expect(denied?.code).toBe('invalid_arguments');
    expect(denied?.detail?.pointer).toBe('/__proto__');
  });

  it('refuses a nested object with an own __proto__ key', async () => {
    const nested = JSON.parse('{"order_id":"ORD-000001","x":{"__proto__":{"a":1}}}') as unknown;
    expect((await denialOf(nested))?.detail?.pointer).toBe('/x/__proto__');
  });

  it('refuses arguments that are not an object', async () => {
    expect((await denialOf('ORD-000001'))?.code).toBe('invalid_arguments');
    expect((await denialOf([1, 2]))?.code).toBe('invalid_arguments');
  });

  it('refuses nesting 10,000 levels deep without overflowing the stack', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    const denied = await denialOf({ order_id: 'ORD-000001', extra: deep });
    expect(denied?.code).toBe('invalid_arguments');
  });

  it('never echoes the refused value in its message', async () => {
    const denied = await denialOf({ order_id: 'sk-live-SECRET-VALUE' });
    expect(denied?.message).not.toContain('SECRET');
  });

  it('measures depth iteratively', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(walkArguments(deep, 32)?.kind).toBe('too_deep');
    expect(walkArguments({ a: { b: 1 } }, 32)).toBeUndefined();
  });
});

describe("validate stage with an upstream's defaults", () => {
  const withDefaults = new Catalog({
    rules: {
      cms: {
        save: toolRule.parse({ class: 'write', arguments: { meta: { additional_properties: true } } }),
      },
    },
  });
  withDefaults.update('cms', [
    {
      name: 'save',
      inputSchema: {
        type: 'object',
        // JSON.parse, as a listing arrives: `__proto__` is an own key of the default.
        properties: { meta: JSON.parse('{"type":"object","default":{"__proto__":{"admin":true}}}') },
      },
    },
  ]);

  it('refuses a default that holds a prototype key, as if the agent had sent it', async () => {
    const call = { tool: withDefaults.get('cms__save'), rawArgs: {}, flags: [] } as unknown as ToolCall;
    const result = await validate(call);
    expect(result.ok ? undefined : result.denial.detail).toMatchObject({
      pointer: '/meta/__proto__',
      keyword: 'forbiddenKey',
    });
  });
});
