/**
 * Tightening reaches every level: the variants past deep-schema.test.ts. An
 * upstream declares its schema with `$ref`/`$defs`, branches, tuples, arrays
 * without `items`, maps and dependent schemas; an attacker sends operator
 * objects where the schema leaves a position untyped, prototype keys spelled
 * as paths, duplicate keys and numbers the schema's checks could misjudge.
 * A real stdio upstream (test/fixtures/schema-server.ts) records every call
 * it receives: each attack must leave that record empty.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  denialCode,
  EVERYTHING_SERVER,
  rawPost,
  rawSession,
  recorded,
  sessionHeaders,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';
import { schemaUpstream } from '../helpers/schema-upstream.js';

const TOOLS = [
  {
    name: 'refs',
    inputSchema: {
      type: 'object',
      $defs: { Filter: { type: 'object', properties: { field: { type: 'string' } } } },
      properties: { filter: { $ref: '#/$defs/Filter' } },
    },
  },
  {
    name: 'lists',
    inputSchema: {
      type: 'object',
      properties: {
        // Arrays the upstream left without `items`, a tuple without a rest, nested arrays.
        tags: { type: 'array' },
        pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] },
        grid: { type: 'array', items: { type: 'array' } },
        rows: { type: 'array', items: { type: 'array', items: { type: 'object', properties: { a: {} } } } },
      },
    },
  },
  {
    name: 'branches',
    inputSchema: {
      type: 'object',
      properties: {
        q: { anyOf: [{ type: 'string' }, { type: 'object', properties: { op: { type: 'string' } } }] },
        mode: { type: 'string' },
      },
      dependentSchemas: { mode: { properties: { extra: {} } } },
      if: { properties: { mode: { const: 'x' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword.
      then: { properties: { more: {} } },
    },
  },
  {
    name: 'maps',
    inputSchema: {
      type: 'object',
      properties: { labels: { type: 'object', additionalProperties: { type: 'string' } } },
      patternProperties: { '^x-': {} },
    },
  },
  {
    name: 'amount',
    inputSchema: { type: 'object', properties: { amount: { type: 'number' }, note: {} } },
  },
];

function policy(record: string): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('up', TOOLS, { record })}
tools:
  up:
    refs:
      class: read
    lists: { class: read }
    branches:
      class: read
      arguments:
        q: { pattern: "^[a-z]+$" }
    maps:
      class: read
      arguments:
        labels: { additional_properties: true }
    amount:
      class: read
      arguments:
        amount: { maximum: 100 }
        note: { maxLength: 20 }
profiles:
  agent:
    tools: [up__refs, up__lists, up__branches, up__maps, up__amount]
`;
}

let gw: TestGateway;
let record: string;
let token: string;
let call: (tool: string, args: unknown) => Promise<unknown>;
beforeAll(async () => {
  const dir = tempDir();
  record = join(dir, 'received.jsonl');
  gw = await startTestGateway(policy(record), { dir });
  const agent = await gw.agent('agent');
  token = agent.token;
  call = (name, args) => agent.client.callTool({ name, arguments: args as Record<string, unknown> });
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => writeFileSync(record, ''));

/** Sends a tools/call body as raw text (duplicate keys, escapes): no SDK client would. */
async function raw(argumentsJson: string, tool = 'up__amount'): Promise<string> {
  const sid = await rawSession(gw.gateway.url, token);
  await rawPost(
    gw.gateway.url,
    token,
    JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    sessionHeaders(sid),
  );
  const body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"${tool}","arguments":${argumentsJson}}}`;
  return (await rawPost(gw.gateway.url, token, body, sessionHeaders(sid))).body;
}

describe('operator objects where the upstream schema leaves a position open', () => {
  const attacks: [string, string, unknown][] = [
    ['an unknown key in an object reached through $ref', 'up__refs', { filter: { field: 'a', $where: '1' } }],
    ['an object in an array the upstream left without items', 'up__lists', { tags: [{ $ne: null }] }],
    ['an object past the end of a tuple', 'up__lists', { pair: ['a', 1, { $gt: '' }] }],
    ['an object inside a nested array without items', 'up__lists', { grid: [[{ $ne: 1 }]] }],
    ['an unknown key in an object in a nested array', 'up__lists', { rows: [[{ a: 1, $where: 'x' }]] }],
    ['an object in the object branch of a patterned anyOf', 'up__branches', { q: { op: 'x' } }],
    ['an unknown key beside a dependent schema', 'up__branches', { mode: 'y', extra: 1, $where: 1 }],
    ['an object in an untyped property of a then branch', 'up__branches', { mode: 'x', more: { $ne: 1 } }],
    ['an object as a patternProperties value', 'up__maps', { 'x-a': { $ne: null } }],
    ['an object as a map value the upstream types as string', 'up__maps', { labels: { a: { $ne: 1 } } }],
    ['a number as a string past the maximum', 'up__amount', { amount: '5000' }],
    ['an array where a maxLength implies a string', 'up__amount', { note: ['x'.repeat(50)] }],
  ];
  for (const [name, tool, args] of attacks) {
    it(`refuses ${name} and the upstream receives nothing`, async () => {
      const result = await call(tool, args);
      expect(denialCode(result), JSON.stringify(result)).toBe('invalid_arguments');
      expect(recorded(record)).toEqual([]);
    });
  }

  it('still forwards what fits: a tuple, nested rows and a string map', async () => {
    const args = { pair: ['a', 1], rows: [[{ a: 1 }]], tags: ['x', 2] };
    expect(denialCode(await call('up__lists', args))).toBeUndefined();
    expect(denialCode(await call('up__maps', { labels: { a: 'b' } }))).toBeUndefined();
    expect(recorded(record).map((r) => r.tool)).toEqual(['lists', 'maps']);
  });
});

describe('prototype keys however they are spelled', () => {
  const keys: [string, string][] = [
    ['a dotted path through __proto__', '__proto__.isAdmin'],
    ['a dotted path through constructor.prototype', 'constructor.prototype.isAdmin'],
    ['a bracketed path', 'a[__proto__][isAdmin]'],
  ];
  for (const [name, key] of keys) {
    it(`refuses ${name} as a key of an open map`, async () => {
      const result = await call('up__maps', { labels: { [key]: 'true' } });
      expect(denialCode(result)).toBe('invalid_arguments');
      expect(recorded(record)).toEqual([]);
    });
  }

  it('refuses a __proto__ key inside an array element, sent raw', async () => {
    const body = await raw('{"tags":[{"__proto__":{"isAdmin":true}}]}', 'up__lists');
    expect(body).toContain('invalid_arguments');
    expect(recorded(record)).toEqual([]);
  });

  it('refuses a constructor key written with JSON escapes', async () => {
    const body = await raw('{"labels":{"\\u0063onstructor":{"prototype":{"x":1}}}}', 'up__maps');
    expect(body).toContain('invalid_arguments');
    expect(recorded(record)).toEqual([]);
  });
});

describe('numbers and duplicate keys', () => {
  it('refuses a duplicate key whose last value breaks the maximum', async () => {
    const body = await raw('{"amount": 5, "amount": 5000}');
    expect(body).toContain('invalid_arguments');
    expect(recorded(record)).toEqual([]);
  });

  it('forwards only the value it checked when a duplicate key comes first', async () => {
    await raw('{"amount": 5000, "amount": 5}');
    expect(recorded(record)).toEqual([{ server: 'schemas', tool: 'amount', arguments: { amount: 5 } }]);
  });

  for (const [name, json] of [
    ['an integer too large for a double', '{"amount": 1e400}'],
    ['a negative overflow', '{"amount": -1e400}'],
    ['a huge integer written out', `{"amount": 1${'0'.repeat(400)}}`],
  ] as const) {
    it(`refuses ${name}`, async () => {
      const body = await raw(json);
      expect(body).toContain('invalid_arguments');
      expect(recorded(record)).toEqual([]);
    });
  }

  it('forwards -0 as a number within bounds', async () => {
    await raw('{"amount": -0}');
    expect(recorded(record)).toHaveLength(1);
    expect(recorded(record)[0]?.arguments).toEqual({ amount: 0 });
  });
});

describe('prompt arguments', () => {
  let pgw: TestGateway;
  let ptoken: string;
  beforeAll(async () => {
    pgw = await startTestGateway(`
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  ev:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(EVERYTHING_SERVER)}]
profiles:
  agent:
    prompts: [ev__args-prompt]
`);
    ptoken = (await pgw.gateway.runs.create('agent')).token;
  });
  afterAll(async () => {
    await pgw?.close();
  });

  async function getPrompt(argumentsJson: string): Promise<string> {
    const sid = await rawSession(pgw.gateway.url, ptoken);
    await rawPost(
      pgw.gateway.url,
      ptoken,
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      sessionHeaders(sid),
    );
    const body = `{"jsonrpc":"2.0","id":9,"method":"prompts/get","params":{"name":"ev__args-prompt","arguments":${argumentsJson}}}`;
    return (await rawPost(pgw.gateway.url, ptoken, body, sessionHeaders(sid))).body;
  }

  it('refuses a __proto__ argument that parsing would drop, instead of forwarding the rest', async () => {
    const body = await getPrompt('{"city":"Paris","__proto__":"x"}');
    expect(body).not.toContain('weather in Paris');
    const events = await pgw.gateway.store.events.list({ kind: 'prompts/get' });
    expect(events[0]).toMatchObject({ decision: 'deny', code: 'invalid_arguments' });
  });

  it('still answers the same prompt without it', async () => {
    expect(await getPrompt('{"city":"Paris"}')).toContain('weather in Paris');
  });
});
