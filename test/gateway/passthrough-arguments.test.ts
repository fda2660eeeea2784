/**
 * Operator objects and prototype keys in the arguments of requests that are
 * not tool calls: `prompts/get` arguments and a `resources/read` URI. Each is
 * refused before the upstream, which records every request it receives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

const dir = tempDir();
const record = join(dir, 'door-record.jsonl');
writeFileSync(record, '');

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  door:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/door-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: { DOOR_RECORD: ${JSON.stringify(record)} }
profiles:
  agent:
    resources:
      - { upstream: door, uris: ["note://*"] }
    prompts: [door__greet]
`;

let gw: TestGateway;
let client: Client;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir });
  client = (await gw.agent('agent')).client;
});
afterAll(async () => {
  await gw?.close();
});

const received = (method: string) =>
  readFileSync(record, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { method: string })
    .filter((r) => r.method === method).length;

/** Sends what no typed client would: the params as given. */
const raw = (method: string, params: unknown) => client.request({ method, params } as never, ResultSchema);

describe('arguments of prompts and resources', () => {
  it.each([
    ['an operator object', '{"who":{"$ne":null}}'],
    ['an array', '{"who":["a","b"]}'],
    ['a number', '{"who":5}'],
    ['a __proto__ key', '{"__proto__":{"polluted":"yes"}}'],
    ['a constructor key', '{"constructor":"x"}'],
    ['a prototype key', '{"prototype":"x"}'],
    ['an undeclared argument', '{"who":"a","cc":"b"}'],
  ])('prompts/get refuses %s before the upstream', async (_name, args) => {
    const before = received('prompts/get');
    await expect(raw('prompts/get', { name: 'door__greet', arguments: JSON.parse(args) })).rejects.toThrow();
    expect(received('prompts/get')).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['an operator object', { $ne: null }],
    ['an array', ['note://one']],
    ['a number', 1],
  ])('resources/read refuses a URI that is %s before the upstream', async (_name, uri) => {
    const before = received('resources/read');
    await expect(raw('resources/read', { uri })).rejects.toThrow();
    expect(received('resources/read')).toBe(before);
  });

  it('a well-formed prompt and read still pass', async () => {
    await expect(raw('prompts/get', { name: 'door__greet', arguments: { who: 'a' } })).resolves.toBeDefined();
    await expect(raw('resources/read', { uri: 'note://one' })).resolves.toBeDefined();
  });
});
