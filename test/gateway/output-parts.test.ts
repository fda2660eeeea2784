import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACK, HIDDEN_OR_ESCAPE } from '../fixtures/hostile-content.js';
import { type Agent, denialCode, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { resultUpstream } from '../helpers/result-upstream.js';

const SECRET = ATTACK.credential;
const HIDDEN = `${ATTACK.tags}${ATTACK.escape}${ATTACK.bidi}`;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const RESULTS: Record<string, Record<string, unknown>> = {
  blob: {
    content: [
      {
        type: 'resource',
        resource: { uri: 'note://a', mimeType: 'text/plain', blob: b64(`key=${SECRET}\n`) },
      },
    ],
  },
  image: { content: [{ type: 'image', mimeType: 'image/png', data: b64(`token ${SECRET}`) }] },
  audio: { content: [{ type: 'audio', mimeType: 'audio/wav', data: b64(`token ${SECRET}`) }] },
  structured: {
    content: [{ type: 'text', text: 'see structured' }],
    structuredContent: { rows: [{ deep: [{ note: `k ${SECRET}${HIDDEN}` }] }], [`key${HIDDEN}`]: 1 },
  },
  error: { isError: true, content: [{ type: 'text', text: `failed with ${SECRET}${HIDDEN}` }] },
  annotated: {
    content: [
      {
        type: 'text',
        text: 'plain',
        annotations: { audience: ['assistant'], priority: 1, lastModified: '2025-01-01T00:00:00Z' },
        _meta: { 'vendor/x': { nested: [`${SECRET}${HIDDEN}`], [`k${HIDDEN}`]: 1 } },
      },
    ],
    _meta: { 'vendor/y': { deeper: { list: [`${SECRET}`] } } },
  },
  link: {
    content: [
      {
        type: 'resource_link',
        uri: `https://files.example/a?token=${SECRET}`,
        name: `a${HIDDEN}`,
        mimeType: `text/plain${HIDDEN}`,
        icons: [{ src: `https://icons.example/${SECRET}.png`, mimeType: 'image/png' }],
      },
    ],
  },
  // Over LARGE_OUTPUT characters: inspected and scrubbed in a worker thread.
  large_image: {
    content: [{ type: 'image', mimeType: 'image/png', data: b64(`token ${SECRET}`) }],
  },
  blob_text: {
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'note://t',
          mimeType: 'text/plain; charset=utf-8',
          blob: b64(`Order 42.${HIDDEN}${ATTACK.injection}`),
        },
      },
    ],
  },
  embedded_text: {
    content: [{ type: 'resource', resource: { uri: `note://${SECRET}`, text: `body ${SECRET}${HIDDEN}` } }],
  },
};

let gw: TestGateway;
let agent: Agent;
beforeAll(async () => {
  const dir = tempDir();
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${resultUpstream('up', { tools: RESULTS, pad: { large_image: 300 * 1024 }, page: `Order 42.${HIDDEN}${ATTACK.injection}` })}
tools:
  up:
${Object.keys(RESULTS)
  .filter((name) => name !== 'large_image')
  .map((name) => `    ${name}: { class: read }`)
  .join('\n')}
    large_image: { class: read, max_output: 1000000 }
profiles:
  agent:
    tools: [${Object.keys(RESULTS)
      .map((name) => `up__${name}`)
      .join(', ')}]
    resources: [{ upstream: up, uris: ["page://*"] }]
`,
    { dir },
  );
  agent = await gw.agent('agent');
});
afterAll(async () => {
  await gw?.close();
});

/** Every string in a value, keys included, and the bytes of base64 payloads (`data`, `blob`) decoded. */
function everyText(value: unknown, key = ''): string[] {
  if (typeof value === 'string')
    return key === 'data' || key === 'blob'
      ? [value, Buffer.from(value, 'base64').toString('latin1')]
      : [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...everyText(v, k)]);
}

describe('a base64 payload that holds a credential', () => {
  it.each([
    ['up__blob', 'resource content removed: it held a secret'],
    ['up__image', 'image (image/png) removed: it held a secret'],
    ['up__audio', 'audio (audio/wav) removed: it held a secret'],
    ['up__large_image', 'image (image/png) removed: it held a secret'],
  ])('%s: the answer still reaches the agent, the payload replaced by a note', async (name, note) => {
    // Before, the redaction left the payload invalid base64 and the agent's client refused the answer.
    const own = await gw.agent('agent');
    const result = await own.client.callTool({ name, arguments: {} }, undefined, { timeout: 20_000 });
    expect(JSON.stringify(result.content)).toContain(note);
  });
});

describe('a credential and hidden characters in any part of a tool result', () => {
  for (const name of Object.keys(RESULTS)) {
    it(`never reach the agent or the audit log from ${name}`, async () => {
      const result = await agent.client.callTool({ name: `up__${name}`, arguments: {} });
      expect(denialCode(result), JSON.stringify(result).slice(0, 300)).toBeUndefined();
      const seen = everyText(result);
      for (const text of seen) {
        expect(text, name).not.toContain(SECRET);
        expect(text, name).not.toMatch(HIDDEN_OR_ESCAPE);
      }
      const events = await gw.gateway.store.events.list({ runId: agent.runId, limit: 1000 });
      for (const text of everyText(events)) {
        expect(text).not.toContain(SECRET);
        expect(text, `${name}: audit event`).not.toMatch(HIDDEN_OR_ESCAPE);
      }
    });
  }
});

/** A blob that is text: what a client decoding it would show its model. */
const decoded = (blob: unknown) => Buffer.from(String(blob), 'base64').toString('utf8');

describe('a text blob carrying hidden characters and an instruction', () => {
  it('in a tool result: cleaned as text is, flagged, and the run tainted', async () => {
    const own = await gw.agent('agent');
    const result = await own.client.callTool({ name: 'up__blob_text', arguments: {} });
    const text = decoded((result.content as { resource: { blob: string } }[])[0]?.resource.blob);
    expect(text).toContain('Order 42.');
    expect(text).not.toMatch(HIDDEN_OR_ESCAPE);
    expect(result._meta?.['bulkhead/flags']).toEqual(
      expect.arrayContaining(['escape_sequences', 'hidden_characters', 'injection_suspected']),
    );
    expect((await gw.gateway.runs.get(own.runId))?.taint.untrusted).toBe(true);
  });

  it('in a resource read: cleaned as text is', async () => {
    const own = await gw.agent('agent');
    const read = await own.client.readResource({ uri: 'page://blob' });
    const text = decoded((read.contents[0] as { blob?: string }).blob);
    expect(text).toContain('Order 42.');
    expect(text).not.toMatch(HIDDEN_OR_ESCAPE);
  });
});
