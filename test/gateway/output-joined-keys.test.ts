/**
 * A credential an upstream cuts between a structured key and its value,
 * writes in look-alike letters in a structured key, or cuts between a
 * resource link's name and description reached the agent whole: each part
 * was scrubbed alone, and keys and link fields were not read joined. A real
 * stdio upstream answers verbatim (test/fixtures/result-server.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACK } from '../fixtures/hostile-content.js';
import { denialCode, type TestGateway } from '../helpers/harness.js';
import { startResultGateway } from '../helpers/result-upstream.js';

const SECRET = ATTACK.credential;
const HEAD = SECRET.slice(0, 20);
const TAIL = SECRET.slice(20);
const LOOK_ALIKE = SECRET.replace(/a/g, '\u0430');
const RESULTS: Record<string, Record<string, unknown>> = {
  key_and_value: { content: [{ type: 'text', text: 'x' }], structuredContent: { [HEAD]: TAIL } },
  look_alike_key: { content: [{ type: 'text', text: 'x' }], structuredContent: { [LOOK_ALIKE]: 1 } },
  link_fields: {
    content: [{ type: 'resource_link', uri: 'https://files.example/a', name: HEAD, description: TAIL }],
  },
};

let gw: TestGateway;
beforeAll(async () => {
  gw = await startResultGateway('up', RESULTS);
});
afterAll(async () => {
  await gw?.close();
});

async function shown(name: string): Promise<string> {
  const agent = await gw.agent('agent');
  const result = await agent.client.callTool({ name: `up__${name}`, arguments: {} });
  expect(denialCode(result)).toBeUndefined();
  return JSON.stringify(result);
}

describe('a credential in the parts of a result that were read alone', () => {
  it('is redacted when cut between a structured key and its value', async () => {
    const text = await shown('key_and_value');
    expect(text).not.toContain(HEAD);
    expect(text).not.toContain(TAIL);
  });

  it('is redacted when written in look-alike letters in a structured key', async () => {
    expect(await shown('look_alike_key')).not.toContain(LOOK_ALIKE);
  });

  it("is redacted when cut between a resource link's name and description", async () => {
    const text = await shown('link_fields');
    expect(text).not.toContain(HEAD);
    expect(text).not.toContain(TAIL);
  });
});
