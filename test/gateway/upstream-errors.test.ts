/**
 * An upstream's error messages never reach the agent: they carry what the
 * upstream knows of its inside (a connection string with its password, a
 * token, internal host names), and an upstream an attacker steers can put
 * anything in them. Every request the gateway passes on, listing included,
 * answers a failing upstream with a safe sentence of its own; listings skip
 * the failing upstream and still show the others'. A real stdio upstream
 * (test/gateway/fixtures/door-server.ts) fails every method but tools/list.
 */
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestGateway, type TestGateway, text } from '../helpers/harness.js';
import { LEAKED_HOST, LEAKED_PASSWORD, LEAKED_TOKEN } from './fixtures/door-leak.js';

const FAILING = [
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'prompts/list',
  'prompts/get',
].join(',');

const door = (name: string, env: Record<string, string>) => `
  ${name}:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/door-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: ${JSON.stringify(env)}`;

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:${door('door', {})}${door('broken', { DOOR_FAIL: FAILING })}
tools:
  door:
    lookup: { class: read }
  broken:
    lookup: { class: read }
profiles:
  agent:
    tools: [door__lookup, broken__lookup]
    resources:
      - { upstream: door, uris: ["note://one", "note://item/*"] }
      - { upstream: broken, uris: ["broken://*"] }
    prompts: [door__greet, broken__greet]
`;

let gw: TestGateway;
let client: Client;
beforeAll(async () => {
  gw = await startTestGateway(POLICY);
  client = (await gw.agent('agent')).client;
});
afterAll(async () => {
  await gw?.close();
});

function expectNoLeak(value: unknown): void {
  const seen = value instanceof Error ? `${value.message} ${JSON.stringify(value)}` : JSON.stringify(value);
  for (const leaked of [LEAKED_PASSWORD, LEAKED_TOKEN, LEAKED_HOST, 'postgres://'])
    expect(seen).not.toContain(leaked);
}

/** The error a request fails with (it must fail). */
async function failure(request: Promise<unknown>): Promise<Error> {
  const outcome = await request.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as Error;
}

describe("an upstream's error messages", () => {
  it('never reach the agent from a tool call', async () => {
    const result = await client.callTool({ name: 'broken__lookup', arguments: {} });
    expect(result.isError).toBe(true);
    expectNoLeak(result);
    expect(text(result)).toContain('upstream_error');
  });

  it('never reach the agent from resources/list, which still lists the healthy upstream', async () => {
    const listed = await client.listResources();
    expectNoLeak(listed);
    expect(listed.resources.map((r) => r.uri)).toEqual(['note://one']);
  });

  it('never reach the agent from resources/templates/list, which still lists the healthy upstream', async () => {
    const listed = await client.listResourceTemplates();
    expectNoLeak(listed);
    expect(listed.resourceTemplates.map((t) => t.uriTemplate)).toEqual(['note://item/{id}']);
  });

  it('never reach the agent from prompts/list, which still lists the healthy upstream', async () => {
    const listed = await client.listPrompts();
    expectNoLeak(listed);
    expect(listed.prompts.map((p) => p.name)).toEqual(['door__greet']);
  });

  it('never reach the agent from prompts/get, refused with a safe sentence', async () => {
    const error = await failure(client.getPrompt({ name: 'broken__greet', arguments: {} }));
    expectNoLeak(error);
    expect(error.message).toMatch(/unavailable|could not be read/);
  });

  it('never reach the agent from resources/read, refused with a safe sentence', async () => {
    const error = await failure(client.readResource({ uri: 'broken://x' }));
    expectNoLeak(error);
  });

  it('leave the healthy upstream working', async () => {
    const prompt = await client.getPrompt({ name: 'door__greet', arguments: {} });
    expect(prompt.messages).toHaveLength(1);
    const read = await client.readResource({ uri: 'note://one' });
    expect(read.contents).toHaveLength(1);
  });
});
