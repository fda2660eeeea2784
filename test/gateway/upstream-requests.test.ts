/**
 * What an upstream an attacker steers asks of the agent never crosses the
 * gateway: a sampling request (the agent's model, with an injected system
 * prompt), an elicitation (the agent's user, phished for a key), a roots
 * listing (the paths the agent works in), a log line and a resource update
 * pushed at it. The agent here is an SDK client that offers sampling,
 * elicitation and roots and records whatever reaches it; the upstream, a real
 * stdio server, records how each of its requests ended. And requests of the
 * agent's that the gateway does not serve (completion, log level,
 * subscriptions) are refused, never passed to an upstream.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

const dir = tempDir();
const record = join(dir, 'door-record.jsonl');
writeFileSync(record, '');

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
gateway: { stream_responses: true }
upstreams:
  door:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/door-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: { DOOR_RECORD: ${JSON.stringify(record)} }
tools:
  door:
    ask: { class: read }
profiles:
  agent:
    tools: [door__ask]
    resources:
      - { upstream: door, uris: ["note://*"] }
    prompts: [door__greet]
`;

let gw: TestGateway;
let agent: Client;
/** Everything that reached the agent from the gateway besides answers. */
const reached: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir });
  const { token } = await gw.gateway.runs.create('agent');
  agent = new Client(
    { name: 'offering-agent', version: '1' },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  agent.setRequestHandler(CreateMessageRequestSchema, async () => {
    reached.push('sampling/createMessage');
    return { role: 'assistant', content: { type: 'text', text: 'sk-the-agent-secret' }, model: 'm' };
  });
  agent.setRequestHandler(ElicitRequestSchema, async () => {
    reached.push('elicitation/create');
    return { action: 'accept', content: { key: 'sk-the-users-key' } };
  });
  agent.setRequestHandler(ListRootsRequestSchema, async () => {
    reached.push('roots/list');
    return { roots: [{ uri: 'file:///home/agent/work' }] };
  });
  agent.fallbackNotificationHandler = async (notification) => {
    reached.push(notification.method);
  };
  await agent.connect(
    new StreamableHTTPClientTransport(new URL(`${gw.gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
});
afterAll(async () => {
  await agent?.close();
  await gw?.close();
});

describe("an upstream's requests to the agent", () => {
  it('never reach the agent, and each fails at the gateway', async () => {
    const result = await agent.callTool({ name: 'door__ask', arguments: {} });
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    const asked = readFileSync(record, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { method: string; outcome?: Record<string, string> })
      .find((r) => r.method === 'ask');
    for (const method of ['sampling/createMessage', 'elicitation/create', 'roots/list'])
      expect(asked?.outcome?.[method], method).toMatch(/^failed /);
    expect(JSON.stringify(asked)).not.toContain('sk-the-');
    // Give anything pushed at the agent time to arrive before saying nothing did.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reached).toEqual([]);
  });
});

describe('requests of the agent the gateway does not serve', () => {
  it.each([
    [
      'completion/complete',
      { ref: { type: 'ref/prompt', name: 'door__greet' }, argument: { name: 'who', value: 'a' } },
    ],
    ['logging/setLevel', { level: 'debug' }],
    ['resources/subscribe', { uri: 'note://one' }],
  ])('refuses %s with method-not-found', async (method, params) => {
    await expect(
      agent.request(
        { method, params } as never,
        (await import('@modelcontextprotocol/sdk/types.js')).ResultSchema,
      ),
    ).rejects.toThrow(/Method not found|-32601/);
  });
});
