/**
 * Tightening reaches every level (issue 13, point 2) and non-finite numbers
 * never pass (issue 16, point 6). A real upstream (test/fixtures/schema-server.ts)
 * lists schemas with nested objects, untyped properties and arrays, and records
 * every call it receives: each attack must leave that record empty.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  denialCode,
  rawPost,
  rawSession,
  recorded,
  sessionHeaders,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';
import { schemaUpstream } from '../helpers/schema-upstream.js';

/** A customer search as a NoSQL-backed service would declare it: loose, partly untyped. */
const SEARCH = {
  name: 'search',
  inputSchema: {
    type: 'object',
    properties: {
      // No type: the upstream passes it into a query object as is.
      name: { description: 'customer name' },
      limit: { description: 'how many' },
      filter: {
        type: 'object',
        properties: { email: { type: 'string' }, city: { type: 'string' } },
      },
      tags: { type: 'array', items: { type: 'object', properties: { label: { type: 'string' } } } },
      options: { description: 'free-form options' },
    },
  },
};

/** The same shape, addressed by a policy that tightens nested properties and items. */
const FIND = { ...SEARCH, name: 'find' };

function policy(record: string): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('crm', [SEARCH, FIND], { record })}
tools:
  crm:
    search:
      class: read
      arguments:
        name: { pattern: "^[A-Za-z ]{1,40}$" }
        limit: { maximum: 50 }
    find:
      class: read
      arguments:
        name: { pattern: "^[A-Za-z ]{1,40}$" }
        filter:
          properties:
            email: { pattern: "^[a-z0-9.]+@example\\\\.com$", required: true }
        tags:
          maxItems: 2
          items:
            properties:
              label: { enum: [vip, new] }
profiles:
  agent:
    tools: [crm__search, crm__find]
`;
}

let gw: TestGateway;
let record: string;
beforeAll(async () => {
  const dir = tempDir();
  record = join(dir, 'received.jsonl');
  gw = await startTestGateway(policy(record), { dir });
});
afterAll(async () => {
  await gw?.close();
});

let callNo = 100;
/** Sends a tools/call as raw JSON text, as a hostile client would (numbers like -1e400 survive). */
async function rawCall(token: string, tool: string, argsJson: string): Promise<string> {
  const sid = await rawSession(gw.gateway.url, token);
  const body = `{"jsonrpc":"2.0","id":${callNo++},"method":"tools/call","params":{"name":"${tool}","arguments":${argsJson}}}`;
  return (await rawPost(gw.gateway.url, token, body, sessionHeaders(sid))).body;
}

describe('a pattern or bound on an untyped argument implies its type', () => {
  let agent: Awaited<ReturnType<TestGateway['agent']>>;
  beforeAll(async () => {
    agent = await gw.agent('agent');
  });
  beforeEach(async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(record, '');
  });

  const attacks: [string, Record<string, unknown>][] = [
    ['an operator object where a patterned string belongs', { name: { $ne: null } }],
    ['a regex operator object', { name: { $regex: '.*' } }],
    ['an array where a patterned string belongs', { name: ['Ada', { $gt: '' }] }],
    ['a number where a patterned string belongs', { name: 12 }],
    ['a boolean where a patterned string belongs', { name: true }],
    ['a string where a bounded number belongs', { limit: '1000000' }],
    ['an object where a bounded number belongs', { limit: { $gt: 0 } }],
    ['an unknown key inside a nested object', { filter: { email: 'a@example.com', $where: 'sleep(5000)' } }],
    ['an unknown key inside an array item', { tags: [{ label: 'x', admin: true }] }],
    ['an object inside a free-form untyped property', { options: { $where: '1' } }],
    ['a constructor key nested deep', { filter: { constructor: { prototype: { isAdmin: true } } } }],
    ['a prototype key', { tags: [{ prototype: {} }] }],
  ];
  for (const [name, args] of attacks) {
    it(`refuses ${name} and the upstream receives nothing`, async () => {
      const result = await agent.client.callTool({ name: 'crm__search', arguments: args });
      expect(denialCode(result)).toBe('invalid_arguments');
      expect(recorded(record)).toEqual([]);
    });
  }

  it('still forwards arguments that fit', async () => {
    const args = {
      name: 'Ada Lovelace',
      limit: 5,
      filter: { email: 'ada@example.com' },
      tags: [{ label: 'x' }],
    };
    const result = await agent.client.callTool({ name: 'crm__search', arguments: args });
    expect(denialCode(result)).toBeUndefined();
    expect(recorded(record)).toEqual([{ server: 'schemas', tool: 'search', arguments: args }]);
  });

  it('refuses a top-level __proto__ key that parsing would drop, sent as raw JSON', async () => {
    const body = await rawCall(agent.token, 'crm__search', '{"name":"Ada","__proto__":{"limit":1}}');
    expect(body).toContain('invalid_arguments');
    expect(body).toContain('/__proto__');
    expect(recorded(record)).toEqual([]);
  });

  it('refuses a top-level __proto__ key holding a primitive (which an assignment ignores)', async () => {
    const body = await rawCall(agent.token, 'crm__search', '{"name":"Ada","__proto__":1}');
    expect(body).toContain('invalid_arguments');
    expect(recorded(record)).toEqual([]);
  });

  it('refuses a __proto__ key written with a JSON escape', async () => {
    const body = await rawCall(agent.token, 'crm__search', '{"name":"Ada","\\u005f_proto__":{"x":1}}');
    expect(body).toContain('invalid_arguments');
    expect(recorded(record)).toEqual([]);
  });

  it('still refuses a nested __proto__ key sent raw (it survives parsing; a regression check)', async () => {
    const body = await rawCall(agent.token, 'crm__search', '{"filter":{"__proto__":{"email":"x"}}}');
    expect(body).toContain('invalid_arguments');
    expect(recorded(record)).toEqual([]);
  });

  for (const [name, literal] of [
    ['-1e400 (parses to -Infinity) under a maximum', '{"limit":-1e400}'],
    ['1e400 (parses to Infinity) in an untyped property', '{"options":1e400}'],
    ['-1e400 inside an array in an untyped property', '{"options":[1,-1e400]}'],
  ] as const) {
    it(`refuses ${name}`, async () => {
      const body = await rawCall(agent.token, 'crm__search', literal);
      expect(body).toContain('invalid_arguments');
      expect(recorded(record)).toEqual([]);
    });
  }
});

describe('the policy addresses nested properties and array items', () => {
  let agent: Awaited<ReturnType<TestGateway['agent']>>;
  beforeAll(async () => {
    agent = await gw.agent('agent');
  });
  beforeEach(async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(record, '');
  });

  const attacks: [string, Record<string, unknown>][] = [
    ['a nested value outside its pattern', { filter: { email: 'eve@evil.test' } }],
    ['a nested value the policy made required, left out', { filter: { city: 'Paris' } }],
    ['an operator object in a nested patterned property', { filter: { email: { $regex: '.*' } } }],
    ['an array item outside its enum', { tags: [{ label: 'admin' }] }],
    ['more items than the policy allows', { tags: [{ label: 'vip' }, { label: 'new' }, { label: 'vip' }] }],
    ['an unknown key inside an item', { tags: [{ label: 'vip', role: 'admin' }] }],
  ];
  for (const [name, args] of attacks) {
    it(`refuses ${name} and the upstream receives nothing`, async () => {
      const result = await agent.client.callTool({ name: 'crm__find', arguments: args });
      expect(denialCode(result), JSON.stringify(result)).toBe('invalid_arguments');
      expect(recorded(record)).toEqual([]);
    });
  }

  it('forwards nested arguments that fit the tightening', async () => {
    const args = { filter: { email: 'ada@example.com' }, tags: [{ label: 'vip' }] };
    const result = await agent.client.callTool({ name: 'crm__find', arguments: args });
    expect(denialCode(result)).toBeUndefined();
    expect(recorded(record)).toEqual([{ server: 'schemas', tool: 'find', arguments: args }]);
  });

  it('shows the agent the tightened nested schema', async () => {
    const { tools } = await agent.client.listTools();
    const find = tools.find((t) => t.name === 'crm__find');
    expect(find?.inputSchema).toMatchObject({
      additionalProperties: false,
      properties: {
        filter: {
          additionalProperties: false,
          required: ['email'],
          properties: { email: { type: 'string', pattern: '^[a-z0-9.]+@example\\.com$' } },
        },
        tags: { maxItems: 2, items: { additionalProperties: false } },
      },
    });
  });
});
