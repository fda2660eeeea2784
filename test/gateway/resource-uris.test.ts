/**
 * A resource URI is matched against the profile's allow-list as text, but
 * the upstream resolves it: `file:///work/../etc/passwd` matches
 * `file:///work/*` and names `/etc/passwd` to any server that resolves dot
 * segments (a WHATWG URL parser does, also written `%2e%2e`, `.%2E`, with
 * backslashes in special schemes, or encoded twice for a server that decodes
 * twice). Such URIs, and URIs carrying control characters, spaces or hidden
 * characters (a line break in a URI an HTTP upstream puts in a request), are
 * refused before they reach the upstream. A real stdio upstream records every
 * URI it is asked for.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
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
      - { upstream: door, uris: ["file:///work/*", "note://item/public/*"] }
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

function uris(): string[] {
  return readFileSync(record, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { uri?: string }).uri ?? '');
}

const ESCAPES = [
  'file:///work/../etc/passwd',
  'file:///work/./../etc/passwd',
  'file:///work/%2e%2e/etc/passwd',
  'file:///work/%2E%2e/etc/passwd',
  'file:///work/.%2e/etc/passwd',
  'file:///work/%252e%252e/etc/passwd',
  'file:///work\\..\\etc/passwd',
  'file:///work/..%2fetc/passwd',
  'file:///work/..%5cetc/passwd',
  'file:///work/..;/etc/passwd',
  'file:///work/sub/..',
  'note://item/public/../private/x',
  'note://item/public/%2e%2e/private/x',
];

const SMUGGLED = [
  'note://item/public/a\r\nX-Injected: 1',
  'note://item/public/a b',
  'note://item/public/a\u0000',
  'note://item/public/a\u200b',
  'note://item/public/a\u0085',
  'note://item/public/a\u202e',
];

describe('resource URIs', () => {
  for (const uri of ESCAPES) {
    it(`refuses ${JSON.stringify(uri)}, which resolves outside the allowed prefix, before the upstream`, async () => {
      await expect(client.readResource({ uri })).rejects.toThrow(/dot segment|not available/);
      expect(uris()).not.toContain(uri);
    });
  }

  for (const uri of SMUGGLED) {
    it(`refuses ${JSON.stringify(uri)}, which carries a control, space or hidden character`, async () => {
      await expect(client.readResource({ uri })).rejects.toThrow();
      expect(uris()).not.toContain(uri);
    });
  }

  it('refuses a URI longer than 8 KiB before the upstream: a URI names a resource, it is not a payload', async () => {
    const uri = `note://item/public/${'a'.repeat(1024 * 1024)}`;
    await expect(client.readResource({ uri })).rejects.toThrow(/too long/);
    expect(uris().some((u) => u.length > 8192)).toBe(false);
    const denied = await gw.gateway.store.events.list({ kind: 'resources/read', decision: 'deny' });
    expect(JSON.stringify(denied.at(-1)?.data).length).toBeLessThan(4096);
  });

  it('still reads allowed URIs with dots inside their segments', async () => {
    for (const uri of ['file:///work/notes.v2..final.txt', 'note://item/public/a.b/..c/d..']) {
      const read = await client.readResource({ uri });
      expect(read.contents).toHaveLength(1);
      expect(uris()).toContain(uri);
    }
  });
});
