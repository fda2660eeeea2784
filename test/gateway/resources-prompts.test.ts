/**
 * Resources and prompts from upstreams pass through under the profile's
 * allow-lists: off unless listed, only what is listed, inspected and scrubbed
 * like tool output, tainting, audited; upstream progress on a read reaches
 * the agent, its message cleaned (tools/call progress: upstream-progress.test.ts).
 * Upstreams: the hostile stdio fixture (test/fixtures/hostile-server.ts) and
 * the reference "everything" server from npm.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACK, HIDDEN_OR_ESCAPE } from '../fixtures/hostile-content.js';
import { EVERYTHING_SERVER, ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

const dir = tempDir();
const record = join(dir, 'hostile-record.jsonl');
writeFileSync(record, '');

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
gateway: { stream_responses: true }
upstreams:
  hostile:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/fixtures/hostile-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: { HOSTILE_RECORD: ${JSON.stringify(record)} }
  everything:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(EVERYTHING_SERVER)}]
tools:
  hostile:
    progress: { class: read }
profiles:
  reader:
    tools: [hostile__progress]
    resources:
      - { upstream: hostile, uris: ["note://public", "note://item/*"] }
      - { upstream: everything, uris: ["demo://resource/static/document/*"], taints: true }
    prompts: [hostile__greet, everything__simple-prompt]
  embedder:
    tools: [hostile__progress]
    prompts: [hostile__embed]
  plain:
    tools: [hostile__progress]
  splitter:
    tools: [hostile__progress]
    resources:
      - { upstream: hostile, uris: ["note://item/*"] }
    prompts: [hostile__split]
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir });
});
afterAll(async () => {
  await gw?.close();
});

function received(): { method: string; uri?: string; name?: string }[] {
  return readFileSync(record, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

function expectClean(value: unknown): void {
  const text = JSON.stringify(value);
  expect(JSON.parse(text.replace(/\\u00[0-9a-f]{2}/g, ''))).toBeDefined();
  for (const s of text.match(/"(?:[^"\\]|\\.)*"/g) ?? []) {
    const parsed = JSON.parse(s) as string;
    expect(parsed).not.toMatch(HIDDEN_OR_ESCAPE);
    expect(parsed).not.toContain(ATTACK.credential);
  }
}

describe('off unless listed', () => {
  it('a profile that lists none gets method-not-found, as before', async () => {
    const agent = await gw.agent('plain');
    await expect(agent.client.listResources()).rejects.toThrow(/Method not found/);
    await expect(agent.client.readResource({ uri: 'note://public' })).rejects.toThrow(/Method not found/);
    await expect(agent.client.listPrompts()).rejects.toThrow(/Method not found/);
    expect(received().filter((r) => r.method === 'resources/read')).toEqual([]);
  });
});

describe('resources', () => {
  let client: Client;
  let runId: string;
  beforeAll(async () => {
    const agent = await gw.agent('reader');
    client = agent.client;
    runId = agent.runId;
  });

  it('lists only the resources and templates the profile may read, cleaned', async () => {
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris).toContain('note://public');
    expect(uris).not.toContain('note://private');
    expect(uris.some((u) => u.startsWith('demo://resource/static/document/'))).toBe(true);
    expect(resources.find((r) => r.uri === 'note://public')?.description).toBe('Public notes.');
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('note://item/{id}');
  });

  it('refuses a URI no entry allows without asking any upstream, and records it', async () => {
    await expect(client.readResource({ uri: 'note://private' })).rejects.toThrow(/not available/);
    expect(received().filter((r) => r.uri === 'note://private')).toEqual([]);
    const denied = await gw.gateway.store.events.list({ kind: 'resources/read', decision: 'deny' });
    expect(denied.some((e) => e.code === 'resource_not_in_scope' && e.runId === runId)).toBe(true);
  });

  it('returns an allowed resource inspected and scrubbed, flags it and taints the run', async () => {
    const result = await client.readResource({ uri: 'note://item/7' });
    const text = (result.contents[0] as { text: string }).text;
    expect(text).toContain('note://item/7 says:');
    expect(text).toContain('[REDACTED:');
    expectClean(result);
    expect(Object.keys(result.contents[0]?._meta ?? {})).toEqual([]);
    expect(result._meta?.['bulkhead/flags']).toEqual(
      expect.arrayContaining(['escape_sequences', 'injection_suspected', 'forged_meta']),
    );
    const run = await gw.gateway.runs.get(runId);
    expect(run?.taint.untrusted).toBe(true);
    const allowed = await gw.gateway.store.events.list({ kind: 'resources/read', decision: 'allow' });
    expect(allowed.some((e) => (e.data as { uri?: string }).uri === 'note://item/7')).toBe(true);
  });

  it('forwards the upstream progress of a read to the agent, its message cleaned', async () => {
    const seen: { progress: number; total?: number; message?: string }[] = [];
    await client.readResource({ uri: 'note://item/9' }, { onprogress: (p) => seen.push(p) });
    expect(seen).toEqual([{ progress: 1, total: 2, message: expect.stringContaining('reading [REDACTED') }]);
    expectClean(seen);
  });

  it('reads from the reference server', async () => {
    const { resources } = await client.listResources();
    const uri = resources.find((r) => r.uri.startsWith('demo://resource/static/document/'))!.uri;
    const result = await client.readResource({ uri });
    expect(result.contents.length).toBeGreaterThan(0);
  });
});

describe('prompts', () => {
  let client: Client;
  let runId: string;
  beforeAll(async () => {
    const agent = await gw.agent('reader');
    client = agent.client;
    runId = agent.runId;
  });

  it('lists only the listed prompts under exposed names, cleaned', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['everything__simple-prompt', 'hostile__greet']);
    expect(prompts.find((p) => p.name === 'hostile__greet')?.description).toBe('Greets someone.');
  });

  it('refuses a prompt not listed, and arguments the prompt does not declare', async () => {
    await expect(client.getPrompt({ name: 'hostile__unlisted' })).rejects.toThrow(/not available/);
    await expect(client.getPrompt({ name: 'greet', arguments: { who: 'x' } })).rejects.toThrow(
      /not available/,
    );
    await expect(
      client.getPrompt({ name: 'hostile__greet', arguments: { who: 'x', system: 'obey' } }),
    ).rejects.toThrow(/no argument/);
    await expect(client.getPrompt({ name: 'hostile__greet', arguments: {} })).rejects.toThrow(/required/);
    expect(received().filter((r) => r.method === 'prompts/get')).toEqual([]);
  });

  it('returns a prompt with every message inspected', async () => {
    const result = await client.getPrompt({ name: 'hostile__greet', arguments: { who: 'Ada' } });
    expect(result.messages[0]?.content).toEqual({ type: 'text', text: 'Say hello to Ada.' });
    expect(result.description).toBe('Greeting for Ada');
    expectClean(result);
    // A prompt's text is upstream output: what inspection found in it taints the run.
    expect(result._meta?.['bulkhead/flags']).toEqual(expect.arrayContaining(['hidden_characters']));
    expect((await gw.gateway.runs.get(runId))?.taint.untrusted).toBe(true);
    const reference = await client.getPrompt({ name: 'everything__simple-prompt' });
    expect(reference.messages.length).toBeGreaterThan(0);
  });

  it('inspects a resource embedded in a prompt: scrubbed, cleaned, and the run tainted by it', async () => {
    const agent = await gw.agent('embedder');
    expect((await gw.gateway.runs.get(agent.runId))?.taint.untrusted).toBe(false);
    const result = await agent.client.getPrompt({ name: 'hostile__embed' });
    const content = result.messages[0]?.content as { type: string; resource: { text: string } };
    expect(content.type).toBe('resource');
    expect(content.resource.text).toContain('Notes: ');
    expectClean(result);
    expect((await gw.gateway.runs.get(agent.runId))?.taint.untrusted).toBe(true);
  });
});

describe('an injection phrase cut across the parts of a read or a prompt', () => {
  it.each([
    [
      'a resource read whose two contents',
      async (c: Client) => {
        const { contents, _meta } = await c.readResource({ uri: 'note://item/split' });
        return { parts: contents, _meta };
      },
    ],
    [
      'a prompt whose two messages',
      async (c: Client) => {
        const { messages, _meta } = await c.getPrompt({ name: 'hostile__split' });
        return { parts: messages, _meta };
      },
    ],
  ])('flags %s each hold half of it, and taints the run', async (_, read) => {
    const agent = await gw.agent('splitter');
    const result = await read(agent.client);
    expect(result.parts).toHaveLength(2);
    expect(result._meta?.['bulkhead/flags']).toEqual(['injection_suspected']);
    expect((await gw.gateway.runs.get(agent.runId))?.taint.untrusted).toBe(true);
  });
});
