/**
 * A credential an upstream cuts between a structured key and its value,
 * writes in look-alike letters in a structured key, or cuts between a
 * resource link's name and description, or between a resource's uri or mime
 * type and its name, description or text, reached the agent whole: each
 * part was scrubbed alone, and keys, link fields and uris were not read
 * joined. A real stdio upstream answers verbatim
 * (test/fixtures/result-server.ts).
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
  // A uri whose scheme is the tail: any letters and digits make a scheme.
  link_name_uri: { content: [{ type: 'resource_link', name: HEAD, uri: `${TAIL}:/file` }] },
  link_uri_description: {
    content: [{ type: 'resource_link', name: 'n', uri: `https://files.example/${HEAD}`, description: TAIL }],
  },
  resource_uri_text: { content: [{ type: 'resource', resource: { uri: `note://${HEAD}`, text: TAIL } }] },
  resource_mime_text: {
    content: [{ type: 'resource', resource: { uri: 'note://a', mimeType: `text/${HEAD}`, text: TAIL } }],
  },
  text_and_blob: {
    content: [
      { type: 'text', text: HEAD },
      {
        type: 'resource',
        resource: { uri: 'note://a', mimeType: 'text/plain', blob: Buffer.from(TAIL).toString('base64') },
      },
    ],
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

/** Both halves still there: a reader joining the fields reads the credential. */
const whole = (text: string) => text.includes(HEAD) && text.includes(TAIL);

describe("a credential cut across a resource's fields", () => {
  it("is redacted when cut between a link's name and its uri", async () => {
    expect(whole(await shown('link_name_uri'))).toBe(false);
  });

  it("is redacted when cut between a link's uri and its description", async () => {
    expect(whole(await shown('link_uri_description'))).toBe(false);
  });

  it("is redacted when cut between an embedded resource's uri and its text", async () => {
    expect(whole(await shown('resource_uri_text'))).toBe(false);
  });

  it("is redacted when cut between an embedded resource's mime type and its text", async () => {
    expect(whole(await shown('resource_mime_text'))).toBe(false);
  });

  it('is redacted when cut between a text block and a text blob', async () => {
    expect(whole(await shown('text_and_blob'))).toBe(false);
  });
});
