/**
 * A lone surrogate is not a character: JSON carries it (`"\udc00"`), JSON.parse
 * keeps it, and a client that drops it (a lenient UTF-8 encoder) joins the
 * text on either side. An upstream that splits a credential with one hid it
 * from the scrubber's rules while the agent's model could read it whole. The
 * gateway removes lone surrogates as hidden characters and scrubs the joined
 * text, in tool output and in definitions. A real stdio upstream sends them.
 */
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestGateway, type TestGateway, text } from '../helpers/harness.js';
import { LEAKED_TOKEN } from './fixtures/door-leak.js';

const split = `${LEAKED_TOKEN.slice(0, 20)}\uDC00${LEAKED_TOKEN.slice(20, 30)}\uD800${LEAKED_TOKEN.slice(30)}`;
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  door:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/door-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: { DOOR_REPLY_JSON: ${JSON.stringify(JSON.stringify(`the key is ${split} ok`))} }
tools:
  door:
    lookup: { class: read }
profiles:
  agent:
    tools: [door__lookup]
    resources:
      - { upstream: door, uris: ["note://*"] }
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

/** What a client that drops lone surrogates shows its model. */
const dropped = (s: string) => s.replace(new RegExp(LONE.source, 'g'), '');

describe('a credential split by lone surrogates', () => {
  it('is redacted from a tool result, and no lone surrogate reaches the agent', async () => {
    const shown = text(await client.callTool({ name: 'door__lookup', arguments: {} }));
    expect(shown).toContain('the key is');
    expect(LONE.test(shown)).toBe(false);
    expect(dropped(shown)).not.toContain(LEAKED_TOKEN);
  });

  it('is redacted from a resource read', async () => {
    const read = await client.readResource({ uri: 'note://one' });
    const shown = JSON.stringify(read.contents);
    expect(LONE.test(JSON.parse(shown)[0].text)).toBe(false);
    expect(dropped(JSON.parse(shown)[0].text)).not.toContain(LEAKED_TOKEN);
  });
});
