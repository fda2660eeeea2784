/**
 * Methods the gateway does not offer an agent stay closed even when the
 * upstream behind it offers them (the door upstream declares resource
 * subscriptions and logging): a subscription would push upstream text past
 * inspection, a completion would send the agent's text upstream past the
 * flow rules, a log level would reach the upstream's logging. Each is
 * answered -32601 by the gateway itself.
 */
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestGateway, type TestGateway } from '../helpers/harness.js';

let gw: TestGateway;
let client: Client;
beforeAll(async () => {
  gw = await startTestGateway(`
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  door:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/door-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
profiles:
  agent:
    resources:
      - { upstream: door, uris: ["note://*"] }
    prompts: [door__greet]
`);
  client = (await gw.agent('agent')).client;
});
afterAll(async () => {
  await gw?.close();
});

const raw = (method: string, params: unknown) => client.request({ method, params } as never, ResultSchema);

describe('methods the gateway does not offer', () => {
  it.each([
    ['resources/subscribe', { uri: 'note://one' }],
    ['resources/unsubscribe', { uri: 'note://one' }],
    [
      'completion/complete',
      { ref: { type: 'ref/prompt', name: 'door__greet' }, argument: { name: 'who', value: 'x' } },
    ],
    ['logging/setLevel', { level: 'debug' }],
  ])('answers %s with -32601', async (method, params) => {
    await expect(raw(method, params)).rejects.toMatchObject({ code: -32601 });
  });
});
