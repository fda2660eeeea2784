import { describe, expect, it } from 'vitest';
import { attackScene } from '../helpers/attack-scene.js';
import { denialCode } from '../helpers/harness.js';
import { type SchemaTool, schemaUpstream } from '../helpers/schema-upstream.js';

const SCALAR = { type: ['string', 'boolean', 'number'] };
/** The upstream declares `a`; everything else comes from `extra`. */
const withA = (name: string, extra: Record<string, unknown>): SchemaTool => ({
  name,
  inputSchema: { type: 'object', properties: { a: { type: 'string' } }, ...extra },
});
const catchAll = (pattern: string, value: unknown = {}) => ({ patternProperties: { [pattern]: value } });
const closedWith = (inner: Record<string, unknown>) => ({ type: 'object', properties: { a: {} }, ...inner });

const TOOLS: SchemaTool[] = [
  withA('star', catchAll('.*')),
  withA('caret_true', catchAll('^', true)),
  withA('empty', catchAll('')),
  withA('any_char', catchAll('[\\s\\S]*', SCALAR)),
  withA('dot', catchAll('.')),
  withA('word', catchAll('^[A-Za-z$_]+$', SCALAR)),
  withA('names', { propertyNames: { pattern: '.*' }, ...catchAll('.*') }),
  {
    name: 'nested',
    inputSchema: { type: 'object', properties: { f: closedWith(catchAll('.*')) } },
  },
  {
    name: 'in_items',
    inputSchema: { type: 'object', properties: { l: { type: 'array', items: closedWith(catchAll('.*')) } } },
  },
  {
    name: 'via_ref',
    inputSchema: {
      type: 'object',
      properties: { f: { $ref: '#/$defs/Open' } },
      $defs: { Open: closedWith(catchAll('^.*$')) },
    },
  },
  withA('all_of', { allOf: [catchAll('.*')] }),
  withA('any_of', { anyOf: [catchAll('.*')] }),
  withA('one_of', { oneOf: [catchAll('.*')] }),
  withA('all_of_ref', { allOf: [{ $ref: '#/$defs/O' }], $defs: { O: catchAll('.*', true) } }),
  withA('dependent', { dependentSchemas: { a: catchAll('.*') } }),
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
  withA('then', { if: { properties: { a: { const: 'x' } } }, then: catchAll('.*') }),
  withA('branch_map', { allOf: [{ additionalProperties: SCALAR }] }),
  withA('branch_unevaluated', { anyOf: [{ unevaluatedProperties: SCALAR }] }),
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
  withA('if_open', { if: { additionalProperties: true }, then: { properties: { a: {} } } }),
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
  withA('if_pattern', { if: catchAll('.*'), then: { properties: { a: {} } } }),
  // Narrow families and constraints the upstream meant stay as they were.
  withA('prefix', catchAll('^x-', { type: 'string' })),
  withA('short', { ...catchAll('.*', { maxLength: 5 }), allOf: [{ properties: { b: { type: 'string' } } }] }),
  {
    name: 'labels',
    inputSchema: { type: 'object', properties: { labels: { type: 'object', ...catchAll('.*', SCALAR) } } },
  },
];

const POLICY = (record: string) =>
  `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('up', TOOLS, { record })}
tools:
  up:
${TOOLS.map((t) => `    ${t.name}: { class: read }`).join('\n')}
    labels:
      class: read
      arguments:
        labels: { additional_properties: true }
profiles:
  agent:
    tools: [${TOOLS.map((t) => `up__${t.name}`).join(', ')}]
`.replace(`    labels: { class: read }\n`, '');

const scene = attackScene(POLICY);
const call = (tool: string, args: Record<string, unknown>) => scene.call(tool, args);

describe('an extra key where a pattern or a map admits any name', () => {
  const attacks: [string, string, Record<string, unknown>][] = [
    ['beside patternProperties ".*": {}', 'star', { a: 'x', $where: 'sleep(1000)' }],
    ['beside patternProperties "^": true', 'caret_true', { a: 'x', admin: true }],
    ['beside an empty pattern', 'empty', { a: 'x', admin: true }],
    ['beside "[\\s\\S]*" with a typed value', 'any_char', { a: 'x', admin: true }],
    ['beside "." (any name of one character or more)', 'dot', { a: 'x', role: 'owner' }],
    ['beside a word pattern that admits every identifier', 'word', { a: 'x', isAdmin: true }],
    ['beside propertyNames ".*" and a catch-all', 'names', { a: 'x', admin: true }],
    ['in a nested object with a catch-all', 'nested', { f: { a: 1, admin: true } }],
    ['in array items with a catch-all', 'in_items', { l: [{ a: 1, $where: '1' }] }],
    ['in a definition with a catch-all reached by $ref', 'via_ref', { f: { admin: true } }],
    ['beside an allOf branch with a catch-all', 'all_of', { a: 'x', admin: true }],
    ['beside an anyOf branch with a catch-all', 'any_of', { a: 'x', admin: true }],
    ['beside a oneOf branch with a catch-all', 'one_of', { a: 'x', admin: true }],
    ['beside an allOf $ref to a catch-all', 'all_of_ref', { a: 'x', admin: true }],
    ['beside a dependent schema with a catch-all', 'dependent', { a: 'x', admin: true }],
    ['when a then branch has a catch-all', 'then', { a: 'x', admin: true }],
    ['beside an allOf branch whose additionalProperties is a schema', 'branch_map', { a: 'x', admin: true }],
    [
      'beside an anyOf branch whose unevaluatedProperties is a schema',
      'branch_unevaluated',
      { a: 'x', admin: true },
    ],
    ['when an if says additionalProperties: true', 'if_open', { a: 'x', admin: true }],
    ['when an if has a catch-all', 'if_pattern', { a: 'x', admin: true }],
    ['outside a narrow prefix family', 'prefix', { a: 'x', admin: true }],
  ];
  for (const [name, tool, args] of attacks) {
    it(`refuses it ${name}, and the upstream receives nothing`, async () => {
      const result = await call(`up__${tool}`, args);
      expect(denialCode(result), JSON.stringify(result)).toBe('invalid_arguments');
      expect(scene.received()).toEqual([]);
    });
  }

  it('lists every tool: a catch-all is closed, not a reason to withhold', () => {
    expect(scene.listed.sort()).toEqual(TOOLS.map((t) => `up__${t.name}`).sort());
  });
});

describe('what the upstream declared still holds', () => {
  it("keeps a catch-all's constraint on the keys that are declared, here or in a branch", async () => {
    expect(denialCode(await call('up__short', { a: 'too long' }))).toBe('invalid_arguments');
    expect(denialCode(await call('up__short', { b: 'too long' }))).toBe('invalid_arguments');
    expect(denialCode(await call('up__short', { admin: 'x' }))).toBe('invalid_arguments');
    expect(scene.received()).toEqual([]);
    expect(denialCode(await call('up__short', { a: 'ok', b: 'fine' }))).toBeUndefined();
    expect(scene.received().map((r) => r.arguments)).toEqual([{ a: 'ok', b: 'fine' }]);
  });

  it('forwards declared keys and a narrow family: the catch-all closed, not the tool', async () => {
    for (const [tool, args] of [
      ['star', { a: 'x' }],
      ['any_char', { a: 'x' }],
      ['nested', { f: { a: 1 } }],
      ['via_ref', { f: { a: 'y' } }],
      ['branch_map', { a: 'x' }],
      ['if_open', { a: 'x' }],
      ['prefix', { a: 'x', 'x-trace': 'on' }],
    ] as const) {
      expect(denialCode(await call(`up__${tool}`, args)), tool).toBeUndefined();
    }
    expect(scene.received()).toHaveLength(7);
  });

  it('keeps a catch-all map open where the policy says additional_properties: true, values closed', async () => {
    expect(denialCode(await call('up__labels', { labels: { team: 'x', tier: 2 } }))).toBeUndefined();
    expect(denialCode(await call('up__labels', { labels: { team: { $ne: null } } }))).toBe(
      'invalid_arguments',
    );
    expect(scene.received().map((r) => r.arguments)).toEqual([{ labels: { team: 'x', tier: 2 } }]);
  });
});
