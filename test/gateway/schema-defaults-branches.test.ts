/**
 * Defaults an upstream's validator applies beyond a schema's top-level
 * `properties`: under `$ref`, `allOf`, `then`/`else`, `dependentSchemas`,
 * inside the branch of an `anyOf`/`oneOf` the value matches (how pydantic
 * writes `Optional[Model]`: `anyOf: [{$ref: Model}, {type: null}]`), and in
 * an object that is itself a default. A default the gateway did not fill ran
 * with a value the policy never checked and the approver never saw: the agent
 * sent `options: {}` and the upstream searched `path: "/"`. Where no single
 * value follows from the schema (two branches both accept the value and fill
 * it differently, a short tuple) the call is refused rather than guessed.
 */

import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { denialCode, recorded, type TestGateway } from '../helpers/harness.js';
import { startSchemaGateway } from '../helpers/schema-upstream.js';

const OPTIONS = { type: 'object', properties: { path: { type: 'string', default: '/' } } };
const tool = (name: string, inputSchema: Record<string, unknown>) => ({ name, inputSchema });

const TOOLS = [
  // pydantic's Optional[Options] = None
  tool('optional_model', {
    type: 'object',
    $defs: { Options: OPTIONS },
    properties: { options: { anyOf: [{ $ref: '#/$defs/Options' }, { type: 'null' }], default: null } },
  }),
  // A discriminated union: the `kind` the agent sent picks the branch.
  tool('union', {
    type: 'object',
    properties: {
      target: {
        oneOf: [
          {
            type: 'object',
            properties: { kind: { const: 'file' }, path: { type: 'string', default: '/' } },
            required: ['kind'],
          },
          {
            type: 'object',
            properties: { kind: { const: 'url' }, url: { type: 'string', default: 'http://example.test/' } },
            required: ['kind'],
          },
        ],
      },
    },
  }),
  // pydantic's discriminated union: closed models behind references.
  tool('ref_union', {
    type: 'object',
    $defs: {
      File: {
        type: 'object',
        properties: { kind: { const: 'file' }, path: { type: 'string', default: '/' } },
        required: ['kind'],
        additionalProperties: false,
      },
      Url: {
        type: 'object',
        properties: { kind: { const: 'url' }, url: { type: 'string', default: 'http://example.test/' } },
        required: ['kind'],
        additionalProperties: false,
      },
    },
    properties: { target: { oneOf: [{ $ref: '#/$defs/File' }, { $ref: '#/$defs/Url' }] } },
  }),
  // Both branches accept `{}` and fill it differently: no single value follows.
  tool('ambiguous', {
    type: 'object',
    properties: {
      target: {
        anyOf: [
          { type: 'object', properties: { path: { type: 'string', default: '/' } } },
          { type: 'object', properties: { path: { type: 'string', default: '/tmp' } } },
        ],
      },
    },
  }),
  tool('all_of', {
    type: 'object',
    allOf: [{ properties: { path: { type: 'string', default: '/' } } }],
  }),
  tool('referenced', {
    type: 'object',
    $defs: { Options: OPTIONS },
    properties: { options: { $ref: '#/$defs/Options' } },
  }),
  tool('conditional', {
    type: 'object',
    properties: { mode: { type: 'string' } },
    if: { properties: { mode: { const: 'bulk' } }, required: ['mode'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
    then: { properties: { limit: { type: 'integer', default: 1000 } } },
    else: { properties: { limit: { type: 'integer', default: 10 } } },
  }),
  tool('dependent', {
    type: 'object',
    properties: { recursive: { type: 'boolean' } },
    dependentSchemas: { recursive: { properties: { depth: { type: 'integer', default: 100 } } } },
  }),
  tool('default_object', {
    type: 'object',
    properties: { options: { ...OPTIONS, default: {} } },
  }),
  tool('tuple', {
    type: 'object',
    properties: {
      range: { type: 'array', prefixItems: [{ type: 'integer' }, { type: 'integer', default: 1000 }] },
    },
  }),
];

let gw: TestGateway;
let record: string;
beforeAll(async () => {
  ({ gw, record } = await startSchemaGateway('fs', TOOLS));
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => {
  writeFileSync(record, '');
});

async function sent(name: string, args: Record<string, unknown>): Promise<unknown> {
  const agent = await gw.agent('agent');
  const result = await agent.client.callTool({ name: `fs__${name}`, arguments: args });
  expect(denialCode(result)).toBeUndefined();
  const [call] = recorded(record) as { arguments: unknown }[];
  return call?.arguments;
}

async function refusal(name: string, args: Record<string, unknown>): Promise<string> {
  const agent = await gw.agent('agent');
  const result = await agent.client.callTool({ name: `fs__${name}`, arguments: args });
  expect(denialCode(result)).toBe('invalid_arguments');
  expect(recorded(record)).toEqual([]);
  return JSON.stringify(result);
}

describe('defaults the gateway fills beyond top-level properties', () => {
  it('fills the default of the anyOf branch the value matches (an optional model)', async () => {
    expect(await sent('optional_model', { options: {} })).toEqual({ options: { path: '/' } });
  });

  it('leaves an optional model left out as none given', async () => {
    expect(await sent('optional_model', {})).toEqual({});
  });

  it('fills the default of the oneOf branch the discriminator picks', async () => {
    expect(await sent('union', { target: { kind: 'file' } })).toEqual({
      target: { kind: 'file', path: '/' },
    });
  });

  it('fills only the matching referenced branch of a union, not the other branches it tried', async () => {
    expect(await sent('ref_union', { target: { kind: 'file' } })).toEqual({
      target: { kind: 'file', path: '/' },
    });
  });

  it("accepts the second referenced branch of a union without the first branch's defaults", async () => {
    expect(await sent('ref_union', { target: { kind: 'url' } })).toEqual({
      target: { kind: 'url', url: 'http://example.test/' },
    });
  });

  it('fills defaults declared under allOf', async () => {
    expect(await sent('all_of', {})).toEqual({ path: '/' });
  });

  it('fills defaults declared under a $ref', async () => {
    expect(await sent('referenced', { options: {} })).toEqual({ options: { path: '/' } });
  });

  it('fills the then-branch default when the if matches', async () => {
    expect(await sent('conditional', { mode: 'bulk' })).toEqual({ mode: 'bulk', limit: 1000 });
  });

  it('fills the else-branch default when the if does not match', async () => {
    expect(await sent('conditional', { mode: 'one' })).toEqual({ mode: 'one', limit: 10 });
  });

  it('fills dependentSchemas defaults when their key is present', async () => {
    expect(await sent('dependent', { recursive: true })).toEqual({ recursive: true, depth: 100 });
  });

  it('leaves dependentSchemas defaults out when their key is absent', async () => {
    expect(await sent('dependent', {})).toEqual({});
  });

  it('fills the defaults inside an object that is itself a default', async () => {
    expect(await sent('default_object', {})).toEqual({ options: { path: '/' } });
  });
});

describe('defaults that have no single value are refused', () => {
  it('refuses a value two anyOf branches would fill differently', async () => {
    expect(await refusal('ambiguous', { target: {} })).toContain('/target');
  });

  it('accepts a value both anyOf branches leave alone', async () => {
    expect(await sent('ambiguous', { target: { path: '/srv' } })).toEqual({ target: { path: '/srv' } });
  });

  it('refuses a tuple shorter than its defaulted positions', async () => {
    expect(await refusal('tuple', { range: [1] })).toContain('/range');
  });

  it('accepts a tuple that gives every position', async () => {
    expect(await sent('tuple', { range: [1, 2] })).toEqual({ range: [1, 2] });
  });
});
