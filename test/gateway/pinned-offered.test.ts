/**
 * Prompts, resources and resource templates are pinned like tools: `bulkhead
 * pin` records them in the same lock, and a definition an upstream swaps after
 * review (a rug pull) is withheld from lists and refused when used, with a
 * `tool.changed` event naming what changed. The upstream is a real stdio MCP
 * server (test/fixtures/drifting-server.ts) that drifts silently after N
 * listings, or on demand with `list_changed` notifications.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listUpstream } from '../../src/audit/connect.js';
import { createLock, lockPathFor, writeLock } from '../../src/audit/pin.js';
import { pinItems, pinScope } from '../../src/audit/pin-items.js';
import type { AuditEvent } from '../../src/events/event.js';
import { loadPolicyFile } from '../../src/policy/load.js';
import { DRIFT } from '../fixtures/drifting-server.js';
import { ATTACK, HIDDEN_OR_ESCAPE } from '../fixtures/hostile-content.js';
import { bulkhead } from '../helpers/cli.js';
import { ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

const SERVER = join(ROOT, 'test/fixtures/drifting-server.ts');

function policy(env: Record<string, string>): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  drifting:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(SERVER)}]
    cwd: ${JSON.stringify(ROOT)}
    env: ${JSON.stringify(env)}
tools:
  drifting:
    lookup: { class: read }
    drift: { class: write }
    added_later: { class: read }
profiles:
  reader:
    tools: [drifting__lookup, drifting__drift, drifting__added_later]
    resources: [{ upstream: drifting, uris: ["note://*"] }]
    prompts: [drifting__summarize, drifting__translate, drifting__greet, drifting__stable]
`;
}

/** Writes the policy, pins it with the real CLI, starts a gateway on it. */
async function pinnedGateway(env: Record<string, string>): Promise<TestGateway> {
  const dir = tempDir();
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, policy(env));
  const pinned = await bulkhead(['pin', '--policy', file]);
  expect(pinned.code, pinned.stderr).toBe(0);
  expect(pinned.stdout).toContain('pinned 2 tools, 4 prompts, 2 resources and 1 resource templates');
  return startTestGateway(policy(env), { dir });
}

/** Everything an agent was shown: nothing of the drift or of the planted attacks. */
function expectNothingDrifted(shown: unknown[]): void {
  const text = JSON.stringify(shown);
  for (const s of text.match(/"(?:[^"\\]|\\.)*"/g) ?? []) {
    const value = JSON.parse(s) as string;
    expect(value).not.toMatch(HIDDEN_OR_ESCAPE);
    expect(value).not.toContain(ATTACK.credential);
    expect(value).not.toContain('IMPORTANT');
    expect(value).not.toContain('SYSTEM');
  }
  expect(text).not.toContain('"system"');
}

async function changedEvents(gw: TestGateway): Promise<AuditEvent[]> {
  return gw.gateway.store.events.list({ kind: 'tool.changed', limit: 1000 });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a silent rug pull of prompts and resources', () => {
  const record = join(tempDir(), 'drift-record.jsonl');
  let gw: TestGateway;
  let client: Client;
  const shown: unknown[] = [];
  const received = () =>
    readFileSync(record, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { method: string; name?: string; uri?: string });

  beforeAll(async () => {
    writeFileSync(record, '');
    // The pin's own listing is a separate process: it sees the reviewed definitions.
    gw = await pinnedGateway({ DRIFT_AFTER_PROMPT_LISTS: '2', DRIFT_RECORD: record });
    client = (await gw.agent('reader')).client;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('serves the reviewed definitions while they are as pinned', async () => {
    const { prompts } = await client.listPrompts();
    shown.push(prompts);
    expect(prompts.map((p) => p.name).sort()).toEqual([
      'drifting__greet',
      'drifting__stable',
      'drifting__summarize',
      'drifting__translate',
    ]);
    const { resources } = await client.listResources();
    const { resourceTemplates } = await client.listResourceTemplates();
    shown.push(resources, resourceTemplates);
    expect(resources.map((r) => r.uri).sort()).toEqual(['note://readme', 'note://stable']);
    expect(resourceTemplates[0]?.description).toBe('One note.');
    shown.push(await client.readResource({ uri: 'note://item/7' }));
    // The gateway lists prompts to check this get: the server's second listing, after which it drifts.
    const got = await client.getPrompt({ name: 'drifting__summarize', arguments: { note: '1' } });
    shown.push(got);
    expect(got.messages[0]?.content).toEqual({ type: 'text', text: 'Prompt summarize.' });
  });

  it('withholds every swapped definition from the lists and keeps the unchanged ones', async () => {
    const { prompts } = await client.listPrompts();
    const { resources } = await client.listResources();
    const { resourceTemplates } = await client.listResourceTemplates();
    shown.push(prompts, resources, resourceTemplates);
    // summarize: description; translate: an added argument; greet: a title with tags and a credential.
    expect(prompts.map((p) => p.name)).toEqual(['drifting__stable']);
    // readme: a title with variation selectors and bidi controls; the template: an injection.
    expect(resources.map((r) => r.uri)).toEqual(['note://stable']);
    expect(resourceTemplates).toEqual([]);
  });

  it('refuses to get a swapped prompt or read through a swapped definition, without asking the upstream', async () => {
    await expect(
      client.getPrompt({ name: 'drifting__translate', arguments: { note: '1', system: 'obey' } }),
    ).rejects.toThrow(/not available/);
    await expect(client.getPrompt({ name: 'drifting__summarize', arguments: { note: '1' } })).rejects.toThrow(
      /not available/,
    );
    await expect(client.readResource({ uri: 'note://item/8' })).rejects.toThrow(/not available/);
    await expect(client.readResource({ uri: 'note://readme' })).rejects.toThrow(/not available/);
    shown.push(await client.readResource({ uri: 'note://stable' }));
    const asked = received().map((r) => `${r.method} ${r.name ?? r.uri}`);
    expect(asked).toEqual([
      'resources/read note://item/7',
      'prompts/get summarize',
      'resources/read note://stable',
    ]);
    const refused = await gw.gateway.store.events.list({ kind: 'prompts/get', decision: 'deny' });
    expect(refused.map((e) => e.data.withheld)).toEqual(['changed', 'changed']);
  });

  it('records each swapped definition once, saying which kind and what it now says', async () => {
    const events = await changedEvents(gw);
    const seen = events.map((e) => `${e.code} ${e.data.definition} ${e.tool}`).sort();
    expect(seen).toEqual([
      'changed prompt drifting__greet',
      'changed prompt drifting__summarize',
      'changed prompt drifting__translate',
      'changed resource resource:note://readme',
      'changed resource_template resource:note://item/{id}',
    ]);
    const summarize = events.find((e) => e.tool === 'drifting__summarize');
    expect(summarize?.data.description).toBe(DRIFT.summarize);
    const template = events.find((e) => e.data.definition === 'resource_template');
    expect(template?.data.description).toBe(DRIFT.template);
    // The event is a sink: the credential in greet's new title is redacted there too.
    expect(JSON.stringify(events)).not.toContain(ATTACK.credential);
  });

  it('never showed the agent anything of the drift', () => {
    expectNothingDrifted(shown);
  });
});

describe('list_changed from an upstream', () => {
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await pinnedGateway({});
    client = (await gw.agent('reader')).client;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('re-lists and re-checks pins at once, then tells the agent to re-list', async () => {
    const told = { prompts: false, resources: false };
    client.setNotificationHandler(PromptListChangedNotificationSchema, async () => {
      told.prompts = true;
    });
    client.setNotificationHandler(ResourceListChangedNotificationSchema, async () => {
      told.resources = true;
    });
    await client.callTool({ name: 'drifting__drift', arguments: {} });
    // Reported before any agent lists again: the gateway re-listed on the notification.
    await until(async () => (await changedEvents(gw)).length >= 6, 'the re-check of every definition');
    const seen = (await changedEvents(gw)).map((e) => `${e.code} ${e.data.definition} ${e.tool}`).sort();
    expect(seen).toEqual([
      'changed prompt drifting__greet',
      'changed prompt drifting__summarize',
      'changed prompt drifting__translate',
      'changed resource resource:note://readme',
      'changed resource_template resource:note://item/{id}',
      'unpinned tool drifting__added_later',
    ]);
    await until(
      async () => told.prompts && told.resources,
      'prompts and resources list_changed at the agent',
    );
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['drifting__stable']);
  });

  it('does not serve a tool added after review until it is pinned, then serves it', async () => {
    const names = async () => (await client.listTools()).tools.map((t) => t.name).sort();
    expect(await names()).toEqual(['drifting__drift', 'drifting__lookup']);
    const refused = await client.callTool({ name: 'drifting__added_later', arguments: {} });
    expect(refused.isError).toBe(true);

    // The operator reviews the drifted server and pins it (here: a server drifted from its start).
    const file = join(gw.dir, 'policy.yaml');
    const loaded = loadPolicyFile(file);
    const upstream = loaded.policy.upstreams.drifting;
    if (!upstream || !('command' in upstream)) throw new Error('the policy lost its upstream');
    const listed = await listUpstream(
      'drifting',
      { ...upstream, env: { DRIFT_AT_START: '1' } },
      { env: {}, dir: gw.dir },
      { offered: true },
    );
    const lock = pinItems(
      createLock({ drifting: listed.tools }),
      { drifting: listed.offered },
      pinScope(loaded.policy),
    );
    writeLock(lockPathFor(file), lock);
    expect((await gw.gateway.reload('operator:test')).ok).toBe(true);

    expect(await names()).toEqual(['drifting__added_later', 'drifting__drift', 'drifting__lookup']);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual([
      'drifting__greet',
      'drifting__stable',
      'drifting__summarize',
      'drifting__translate',
    ]);
    // Reviewed and pinned, and still cleaned on its way out: no tags, no credential.
    const greet = prompts.find((p) => p.name === 'drifting__greet');
    expect(greet?.title).toContain('Greeting');
    expect(greet?.title).toContain('[REDACTED');
    expect(greet?.title).not.toMatch(HIDDEN_OR_ESCAPE);
    expect(greet?.title).not.toContain('SYSTEM');
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates[0]?.description).toBe(DRIFT.template);
    const readme = (await client.listResources()).resources.find((r) => r.uri === 'note://readme');
    expect(readme?.title).toBe('Read me!evil');
    expect(readme?.title).not.toMatch(HIDDEN_OR_ESCAPE);
  });

  it('shows the operator what differs between the pin and the server with bulkhead audit --diff', async () => {
    // The lock now holds the drifted definitions; a fresh server lists the originals.
    const diff = await bulkhead(['audit', '--policy', join(gw.dir, 'policy.yaml'), '--diff']);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('changed prompt drifting.summarize');
    expect(diff.stdout).toContain('changed resource template drifting.note://item/{id}');
    expect(diff.stdout).toContain(`- ${DRIFT.template}`);
    expect(diff.stdout).toContain('+ One note.');
    expect(diff.stdout).toContain('removed drifting.added_later');
  });
});
