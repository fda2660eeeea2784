/**
 * Defaults an upstream's validator reaches that sit one step away from the
 * place they fill: behind a `$ref` (zod's `.meta({ id })` and `reused: 'ref'`
 * write `path: { $ref: '#/$defs/P' }` with the default in `P`, and zod fills
 * it), in a union branch of a left-out property (zod's
 * `z.string().default('x').nullable()` is `anyOf: [{ default: 'x' }, null]`,
 * and zod fills 'x'), under `unevaluatedProperties`/`unevaluatedItems`, and
 * in a draft-07 tuple (`items` as a list, which ajv's useDefaults fills).
 * Each was left for the upstream to fill, unchecked.
 */
import { describe, expect, it } from 'vitest';
import { fillDefaults } from './schema-defaults.js';

describe('defaults of a left-out property reached through its schema', () => {
  it('fills the default of the $ref target of a left-out property', () => {
    const schema = {
      properties: { path: { $ref: '#/$defs/P' } },
      $defs: { P: { type: 'string', default: '/' } },
    };
    expect(fillDefaults(schema, {})).toEqual({ ok: true, value: { path: '/' } });
  });

  it('fills the default at the end of a chain of references', () => {
    const schema = {
      properties: { path: { $ref: '#/$defs/A' } },
      $defs: { A: { $ref: '#/$defs/B' }, B: { type: 'string', default: '/' } },
    };
    expect(fillDefaults(schema, {})).toEqual({ ok: true, value: { path: '/' } });
  });

  it("takes the property's own default over its reference's, as the outermost wrapper fills first", () => {
    const schema = {
      properties: { path: { $ref: '#/$defs/P', default: '/srv' } },
      $defs: { P: { type: 'string', default: '/' } },
    };
    expect(fillDefaults(schema, {})).toEqual({ ok: true, value: { path: '/srv' } });
  });

  it('leaves a property whose own default is null unfilled, whatever its reference declares', () => {
    const schema = {
      properties: { path: { anyOf: [{ $ref: '#/$defs/P' }, { type: 'null' }], default: null } },
      $defs: { P: { type: 'string', default: '/' } },
    };
    expect(fillDefaults(schema, {})).toEqual({ ok: true, value: {} });
  });

  it('fills the default of a nullable branch of a left-out property', () => {
    const schema = { properties: { c: { anyOf: [{ type: 'string', default: 'x' }, { type: 'null' }] } } };
    expect(fillDefaults(schema, {})).toEqual({ ok: true, value: { c: 'x' } });
  });

  it('fills a default declared under allOf of a left-out property', () => {
    const schema = { properties: { limit: { allOf: [{ type: 'integer', default: 1000 }] } } };
    expect(fillDefaults(schema, {})).toEqual({ ok: true, value: { limit: 1000 } });
  });

  it('refuses a left-out property whose branches declare different defaults', () => {
    const schema = {
      properties: {
        mode: {
          oneOf: [
            { type: 'string', default: 'a' },
            { type: 'integer', default: 1 },
          ],
        },
      },
    };
    expect(fillDefaults(schema, {})).toEqual({ ok: false, pointer: '/mode', reason: 'ambiguous' });
  });

  it('fills a referenced default inside a nested object that is present', () => {
    const schema = {
      properties: { options: { type: 'object', properties: { path: { $ref: '#/$defs/P' } } } },
      $defs: { P: { type: 'string', default: '/' } },
    };
    expect(fillDefaults(schema, { options: {} })).toEqual({ ok: true, value: { options: { path: '/' } } });
  });
});

describe('defaults under unevaluatedProperties and unevaluatedItems', () => {
  it('fills defaults inside the unevaluatedProperties schema of a key nothing else evaluates', () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' } },
      unevaluatedProperties: { type: 'object', properties: { depth: { default: 100 } } },
    };
    expect(fillDefaults(schema, { name: 'n', extra: {} })).toEqual({
      ok: true,
      value: { name: 'n', extra: { depth: 100 } },
    });
  });

  it('does not fill unevaluatedProperties defaults into a key an allOf member evaluates', () => {
    const schema = {
      allOf: [{ properties: { known: { type: 'object' } } }],
      unevaluatedProperties: { type: 'object', properties: { depth: { default: 100 } } },
    };
    expect(fillDefaults(schema, { known: {} })).toEqual({ ok: true, value: { known: {} } });
  });

  it('refuses a key that an undecidable branch may or may not evaluate', () => {
    const schema = {
      anyOf: [{ minProperties: 2, properties: { known: { type: 'object' } } }, { type: 'object' }],
      unevaluatedProperties: { type: 'object', properties: { depth: { default: 100 } } },
    };
    expect(fillDefaults(schema, { known: {} })).toMatchObject({ ok: false, reason: 'ambiguous' });
  });

  it('fills defaults inside the unevaluatedItems schema of items past the tuple', () => {
    const schema = {
      properties: {
        rows: {
          type: 'array',
          prefixItems: [{ type: 'string' }],
          unevaluatedItems: { type: 'object', properties: { depth: { default: 100 } } },
        },
      },
    };
    expect(fillDefaults(schema, { rows: ['a', {}] })).toEqual({
      ok: true,
      value: { rows: ['a', { depth: 100 }] },
    });
  });
});

describe("draft-07 tuples (items as a list, which ajv's useDefaults fills)", () => {
  it('fills defaults inside the positions of an items list', () => {
    const schema = {
      properties: {
        pair: { type: 'array', items: [{ type: 'string' }, { properties: { d: { default: 1 } } }] },
      },
    };
    expect(fillDefaults(schema, { pair: ['a', {}] })).toEqual({ ok: true, value: { pair: ['a', { d: 1 }] } });
  });

  it('refuses an items-list tuple shorter than a defaulted position', () => {
    const schema = {
      properties: {
        range: { type: 'array', items: [{ type: 'integer' }, { type: 'integer', default: 1000 }] },
      },
    };
    expect(fillDefaults(schema, { range: [1] })).toEqual({
      ok: false,
      pointer: '/range',
      reason: 'short_tuple',
    });
  });
});

describe('a left-out property whose references lead back to themselves', () => {
  it('is refused quickly rather than followed for ever', () => {
    const schema = {
      properties: { p: { $ref: '#/$defs/P' } },
      $defs: { P: { anyOf: [{ $ref: '#/$defs/P' }, { type: 'string', default: '/' }] } },
    };
    const started = performance.now();
    expect(fillDefaults(schema, {})).toMatchObject({ ok: false, reason: 'too_costly' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('is refused when references double at every level past the fill budget', () => {
    const $defs: Record<string, unknown> = { L30: { type: 'string', default: '/' } };
    for (let i = 0; i < 30; i++)
      $defs[`L${i}`] = { allOf: [{ $ref: `#/$defs/L${i + 1}` }, { $ref: `#/$defs/L${i + 1}` }] };
    const started = performance.now();
    expect(fillDefaults({ properties: { p: { $ref: '#/$defs/L0' } }, $defs }, {})).toMatchObject({
      ok: false,
      reason: 'too_costly',
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
