import { describe, expect, it, vi } from 'vitest';
import { fillDefaults, MAX_FILL_STEPS } from './schema-defaults.js';

describe('fillDefaults', () => {
  it('leaves the given arguments unchanged and returns a filled copy', () => {
    const args = {};
    const filled = fillDefaults({ properties: { limit: { default: 10 } } }, args);
    expect(filled).toEqual({ ok: true, value: { limit: 10 } });
    expect(args).toEqual({});
  });

  it('gives each call its own copy of an object default', () => {
    const schema = { properties: { options: { default: { tags: [] } } } };
    const first = fillDefaults(schema, {});
    if (!first.ok) throw new Error('not filled');
    (first.value.options as { tags: string[] }).tags.push('x');
    expect(fillDefaults(schema, {})).toEqual({ ok: true, value: { options: { tags: [] } } });
  });

  it('fills defaults at every level of a recursive schema', () => {
    const schema = {
      $defs: {
        Node: { type: 'object', properties: { child: { $ref: '#/$defs/Node' }, path: { default: '/' } } },
      },
      $ref: '#/$defs/Node',
    };
    expect(fillDefaults(schema, { child: { child: {} } })).toEqual({
      ok: true,
      value: { path: '/', child: { path: '/', child: { path: '/' } } },
    });
  });

  it("fills draft-07 dependencies' schema defaults when their key is present, as dependentSchemas", () => {
    const schema = {
      properties: { recursive: { type: 'boolean' } },
      dependencies: { recursive: { properties: { depth: { default: 100 } } }, other: ['recursive'] },
    };
    expect(fillDefaults(schema, { recursive: true })).toEqual({
      ok: true,
      value: { recursive: true, depth: 100 },
    });
    expect(fillDefaults(schema, {})).toEqual({ ok: true, value: {} });
  });

  it('leaves nothing to fill: an if decided by a defaulted property takes the branch that default picks', () => {
    const schema = {
      properties: { mode: { default: 'bulk' } },
      if: { properties: { mode: { const: 'bulk' } }, required: ['mode'] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
      then: { properties: { limit: { default: 1000 } } },
    };
    const filled = fillDefaults(schema, {});
    expect(filled).toEqual({ ok: true, value: { mode: 'bulk', limit: 1000 } });
    expect(filled.ok && fillDefaults(schema, filled.value)).toEqual(filled);
  });

  it('refuses defaults that keep settling one another past a few passes', () => {
    // p0 is filled; each `if` fills the next name once the previous is there, listed last to first.
    const step = (i: number) => ({
      if: { required: [`p${i}`] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
      then: { properties: { [`p${i + 1}`]: { default: i + 1 } } },
    });
    const schema = {
      properties: { p0: { default: 0 } },
      allOf: Array.from({ length: 8 }, (_, i) => step(7 - i)),
    };
    expect(fillDefaults(schema, {})).toMatchObject({ ok: false, reason: 'ambiguous' });
  });

  it('fills a property named __proto__ as an own key, not the prototype', () => {
    const filled = fillDefaults({ properties: { ['__proto__']: { default: { admin: true } } } }, {});
    if (!filled.ok) throw new Error('not filled');
    expect(Object.hasOwn(filled.value, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(filled.value)).toBe(Object.prototype);
  });

  it('refuses when an if it cannot decide would pick then and else branches that fill differently', () => {
    const schema = {
      properties: { size: { type: 'integer' } },
      if: { properties: { size: { minimum: 100 } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
      then: { properties: { limit: { default: 1000 } } },
      else: { properties: { limit: { default: 10 } } },
    };
    expect(fillDefaults(schema, { size: 500 })).toEqual({ ok: false, pointer: '', reason: 'ambiguous' });
  });

  it('fills through an undecidable if when then and else fill the same', () => {
    const schema = {
      if: { properties: { size: { minimum: 100 } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
      then: { properties: { limit: { default: 10 } } },
      else: { properties: { limit: { default: 10 } } },
    };
    expect(fillDefaults(schema, { size: 500 })).toEqual({ ok: true, value: { size: 500, limit: 10 } });
  });

  it('refuses, quickly, branches whose candidates multiply with the depth of the value', () => {
    const branch = { properties: { a: { $ref: '#/$defs/N' }, b: { default: 1 } } };
    const schema = { $defs: { N: { anyOf: [branch, { ...branch, required: [] }] } }, $ref: '#/$defs/N' };
    let value: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) value = { a: value };
    const started = performance.now();
    expect(fillDefaults(schema, value)).toMatchObject({ ok: false, reason: 'too_costly' });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(MAX_FILL_STEPS).toBeGreaterThan(1_000);
  });

  it('judges union branches with large enums over a long array in bounded time', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => `v${i}`);
    const branch = (extra: Record<string, unknown>) => ({
      type: 'object',
      properties: { k: { enum: values }, ...extra },
    });
    const schema = {
      properties: {
        rows: { items: { anyOf: [{ ...branch({}), required: ['z'] }, branch({ d: { default: 1 } })] } },
      },
    };
    const rows = Array.from({ length: 20_000 }, () => ({ k: 'v9999' }));
    const started = performance.now();
    const filled = fillDefaults(schema, { rows });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(filled.ok && (filled.value.rows as unknown[])[19_999]).toEqual({ k: 'v9999', d: 1 });
  });

  it('refuses a long array of union rows past its bound rather than holding the loop', () => {
    const branch = { type: 'object', properties: { d: { default: 1 } }, required: ['k'] };
    const schema = { properties: { rows: { items: { anyOf: [branch, { ...branch, required: ['z'] }] } } } };
    const rows = Array.from({ length: MAX_FILL_STEPS }, () => ({ k: 1 }));
    expect(fillDefaults(schema, { rows })).toMatchObject({
      ok: false,
      pointer: expect.stringMatching(/^\/rows\/\d+/),
      reason: 'too_costly',
    });
  });

  it('counts the copies union branches are judged on, so many branches over a large value are refused quickly', () => {
    const branches = Array.from({ length: 200 }, () => ({
      type: 'object',
      minProperties: 1,
      properties: { d: { default: 1 } },
    }));
    const blob = 'x'.repeat(2 * 1024 * 1024);
    // Counted, not timed: judging a branch on the 2 MiB value costs 2,048 of the 100,000 steps,
    // so refusal comes after about 48 branches (two copies each), not 200.
    const copies = vi.spyOn(globalThis, 'structuredClone');
    try {
      expect(fillDefaults({ anyOf: branches }, { blob })).toMatchObject({ ok: false, reason: 'too_costly' });
      expect(copies.mock.calls.length).toBeLessThan(120);
    } finally {
      copies.mockRestore();
    }
  });

  it('refuses a reference that leads only to itself instead of looping', () => {
    const schema = {
      $defs: { A: { $ref: '#/$defs/A', properties: { x: { default: 1 } } } },
      $ref: '#/$defs/A',
    };
    expect(fillDefaults(schema, {})).toMatchObject({ ok: false, reason: 'too_costly' });
  });
});
