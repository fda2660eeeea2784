import { describe, expect, it } from 'vitest';
import { attackScene } from '../helpers/attack-scene.js';
import { denialCode } from '../helpers/harness.js';
import { type SchemaTool, schemaUpstream } from '../helpers/schema-upstream.js';

const OPEN = { type: 'object', additionalProperties: true };

/**
 * 30 definitions outside the hardened walk, each naming the next twice: copying a target per
 * reference made 2^30 copies (22 levels took minutes); one copy per target is linear. Its 61
 * references are within the 64 of schema-cost.ts.
 */
const FANOUT: Record<string, unknown> = { n30: { type: 'string' } };
for (let i = 0; i < 30; i++)
  FANOUT[`n${i}`] = {
    type: 'object',
    properties: { a: { $ref: `#/x-chain/n${i + 1}` }, b: { $ref: `#/x-chain/n${i + 1}` } },
    additionalProperties: true,
  };
const TOOLS: SchemaTool[] = [
  {
    name: 'branch_open',
    inputSchema: {
      type: 'object',
      properties: { q: { type: 'string' } },
      allOf: [{ additionalProperties: true }],
      anyOf: [{ unevaluatedProperties: {} }],
    },
  },
  {
    name: 'then_open',
    inputSchema: {
      type: 'object',
      properties: { q: { type: 'string' } },
      if: { properties: { q: { const: 'x' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
      then: { additionalProperties: true },
      dependentSchemas: { q: { additionalProperties: true } },
    },
  },
  {
    name: 'ref_hidden',
    inputSchema: {
      type: 'object',
      properties: {
        viaIf: { $ref: '#/properties/cond/if' },
        viaNot: { $ref: '#/$defs/Neg/not' },
        viaOwn: { $ref: '#/x-schemas/Open' },
        viaDefs: { $ref: '#/definitions/Open' },
        cond: { if: OPEN },
      },
      $defs: { Neg: { not: OPEN } },
      'x-schemas': { Open: { ...OPEN, properties: { field: { type: 'string' } } } },
      definitions: { Open: OPEN },
    },
  },
  {
    name: 'tree',
    inputSchema: {
      type: 'object',
      properties: { tree: { $ref: '#/$defs/Node' } },
      $defs: {
        Node: {
          type: 'object',
          properties: { v: { type: 'string' }, kids: { type: 'array', items: { $ref: '#/$defs/Node' } } },
        },
      },
    },
  },
  {
    name: 'draft7_tuple',
    inputSchema: {
      type: 'object',
      properties: { pair: { type: 'array', items: [{ type: 'string' }, { type: 'number' }] } },
    },
  },
  {
    name: 'fanout',
    inputSchema: { type: 'object', properties: { f: { $ref: '#/x-chain/n0' } }, 'x-chain': FANOUT },
  },
  {
    name: 'anchored',
    inputSchema: {
      type: 'object',
      properties: { f: { $ref: '#open' } },
      'x-y': { $anchor: 'open', ...OPEN },
    },
  },
  {
    name: 'nested_id',
    inputSchema: {
      type: 'object',
      properties: { f: { $id: 'https://up.test/f', $ref: '#/$defs/Open', $defs: { Open: OPEN } } },
    },
  },
];

const POLICY = (record: string) => `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('up', TOOLS, { record })}
tools:
  up:
${TOOLS.map((t) => `    ${t.name}: { class: read }`).join('\n')}
profiles:
  agent:
    tools: [${TOOLS.map((t) => `up__${t.name}`).join(', ')}]
`;

const scene = attackScene(POLICY);
const call = (tool: string, args: Record<string, unknown>) => scene.call(tool, args);

describe('an extra key where the upstream schema opens the object from a branch or a reference', () => {
  const attacks: [string, string, Record<string, unknown>][] = [
    [
      'beside an allOf branch that says additionalProperties: true',
      'up__branch_open',
      { q: 'a', admin: true },
    ],
    ['beside an anyOf branch that says unevaluatedProperties: {}', 'up__branch_open', { q: 'b', role: 'x' }],
    ['when a then branch says additionalProperties: true', 'up__then_open', { q: 'x', admin: true }],
    ['beside a dependent schema that says additionalProperties: true', 'up__then_open', { q: 'y', admin: 1 }],
    ['in an object whose $ref points inside an if', 'up__ref_hidden', { viaIf: { admin: true } }],
    ['in an object whose $ref points inside a not', 'up__ref_hidden', { viaNot: { admin: true } }],
    ['in an object whose $ref points under a keyword of its own', 'up__ref_hidden', { viaOwn: { admin: 1 } }],
    ['in an object whose $ref points to an open definition', 'up__ref_hidden', { viaDefs: { $where: '1' } }],
    ['deep in a recursive definition', 'up__tree', { tree: { v: 'a', kids: [{ v: 'b', admin: 1 }] } }],
    ['past the end of a draft 7 tuple', 'up__draft7_tuple', { pair: ['a', 1, { $ne: null }] }],
    ['two levels down a fanned-out chain of references', 'up__fanout', { f: { a: { b: {}, admin: 1 } } }],
  ];
  for (const [name, tool, args] of attacks) {
    it(`refuses it ${name}, and the upstream receives nothing`, async () => {
      const result = await call(tool, args);
      expect(denialCode(result), JSON.stringify(result)).toBe('invalid_arguments');
      expect(scene.received()).toEqual([]);
    });
  }

  it('still forwards what the schemas declare: a field through a reference, a tree, a tuple', async () => {
    expect(denialCode(await call('up__ref_hidden', { viaOwn: { field: 'f' } }))).toBeUndefined();
    expect(denialCode(await call('up__tree', { tree: { v: 'a', kids: [{ v: 'b', kids: [] }] } }))).toBe(
      undefined,
    );
    expect(denialCode(await call('up__draft7_tuple', { pair: ['a', 1] }))).toBeUndefined();
    expect(denialCode(await call('up__branch_open', { q: 'c' }))).toBeUndefined();
    expect(scene.received().map((r) => r.tool)).toEqual([
      'ref_hidden',
      'tree',
      'draft7_tuple',
      'branch_open',
    ]);
  });
});

describe('references the gateway cannot follow', () => {
  it.each([
    ['an $anchor', 'up__anchored'],
    ['a nested $id', 'up__nested_id'],
  ])('keep a tool whose schema uses %s out of the catalog', async (_name, tool) => {
    expect(scene.listed).not.toContain(tool);
    const result = await call(tool, { f: { admin: true } });
    expect(denialCode(result)).toBe('tool_not_in_scope');
    expect(scene.received()).toEqual([]);
  });

  it('lists every other tool', () => {
    expect(scene.listed).toEqual(
      expect.arrayContaining([
        'up__branch_open',
        'up__then_open',
        'up__ref_hidden',
        'up__tree',
        'up__draft7_tuple',
        'up__fanout',
      ]),
    );
  });
});
