/**
 * The run token is the agent's only secret and a bearer credential: whoever
 * holds it acts as the run (its tools, its LLM budget) from wherever the
 * gateway is reachable. A steered agent handing it to an upstream (a tool
 * argument, a prompt argument, a resource URI) gives a hostile upstream, or
 * whatever an external tool sends on to, the run itself. A real stdio
 * upstream (fixtures/door-server.ts) records what it receives.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { knownSecretForms } from '../../src/scrub/encodings.js';
import {
  type Agent,
  denialCode,
  exampleUpstream,
  ROOT,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';

const dir = tempDir();
const record = join(dir, 'door-record.jsonl');
const outbox = join(dir, 'outbox.jsonl');

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  door:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/gateway/fixtures/door-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
    env: { DOOR_RECORD: ${JSON.stringify(record)} }
  mail:
${exampleUpstream('mail', { MAIL_API_KEY: 'not-a-secret-here', MAIL_OUTBOX: JSON.stringify(outbox) })}
tools:
  door:
    lookup: { class: read }
  mail:
    send_email: { class: read }
profiles:
  agent:
    tools: [door__lookup, mail__send_email]
    resources:
      - { upstream: door, uris: ["note://*"] }
    prompts: [door__greet]
`;

let gw: TestGateway;
let agent: Agent;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir });
  agent = await gw.agent('agent');
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => writeFileSync(record, ''));

const received = () => readFileSync(record, 'utf8');

function expectNoToken(): void {
  const seen = received();
  for (const form of knownSecretForms(agent.token)) expect(seen).not.toContain(form);
}

/** `t` in mathematical monospace letters and digits, other marks fullwidth. */
const mathematical = (t: string) =>
  [...t]
    .map((c) => {
      const code = c.charCodeAt(0);
      if (/[a-z]/.test(c)) return String.fromCodePoint(0x1d68a + code - 0x61);
      if (/[A-Z]/.test(c)) return String.fromCodePoint(0x1d670 + code - 0x41);
      if (/[0-9]/.test(c)) return String.fromCodePoint(0x1d7f6 + code - 0x30);
      return String.fromCharCode(code + 0xfee0);
    })
    .join('');

describe("the agent's own run token on its way to an upstream", () => {
  it('lets an ordinary argument through (the upstream records what it receives)', async () => {
    await agent.client.callTool({ name: 'door__lookup', arguments: { id: 'order-17' } });
    expect(received()).toContain('order-17');
  });

  it('never reaches the upstream in a tool argument: refused as flow_blocked', async () => {
    const result = await agent.client.callTool({
      name: 'door__lookup',
      arguments: { id: `token ${agent.token}` },
    });
    expect(denialCode(result)).toBe('flow_blocked');
    expectNoToken();
  });

  it.each([
    ['base64', (t: string) => Buffer.from(t).toString('base64')],
    ['URL-encoded', (t: string) => encodeURIComponent(`t=${t}`)],
    ['hex', (t: string) => Buffer.from(t).toString('hex')],
    ['base64 after a keyword', (t: string) => Buffer.from(`token=${t}`).toString('base64')],
    ['in mathematical and fullwidth forms (NFKC reads it back)', mathematical],
  ])('never reaches the upstream %s in a tool argument, whatever the token', async (_, encode) => {
    // Tokens are random: some shapes let another rule match first. Twenty of them, each refused.
    for (let i = 0; i < 20; i++) {
      const { token } = await gw.gateway.runs.create('agent');
      const result = await agent.client.callTool({ name: 'door__lookup', arguments: { id: encode(token) } });
      expect(denialCode(result), encode(token)).toBe('flow_blocked');
      expect(received()).not.toContain(encode(token));
    }
  });

  it("never reaches the upstream as another run's token", async () => {
    const other = await gw.agent('agent');
    const result = await agent.client.callTool({ name: 'door__lookup', arguments: { id: other.token } });
    expect(denialCode(result)).toBe('flow_blocked');
    expect(received()).not.toContain(other.token);
  });

  it('never reaches the upstream in a prompt argument', async () => {
    await agent.client
      .getPrompt({ name: 'door__greet', arguments: { who: agent.token } })
      .catch(() => undefined);
    expectNoToken();
  });

  it('never reaches the upstream in a resource URI', async () => {
    await agent.client.readResource({ uri: `note://${agent.token}` }).catch(() => undefined);
    expectNoToken();
  });

  it('never reaches the upstream cut across two arguments, nor the audit trail in halves', async () => {
    const half = Math.floor(agent.token.length / 2);
    const [head, tail] = [agent.token.slice(0, half), agent.token.slice(half)];
    const result = await agent.client.callTool({
      name: 'mail__send_email',
      arguments: { to: 'a@example.com', subject: head, body: tail },
    });
    expect(denialCode(result)).toBe('flow_blocked');
    const sent = existsSync(outbox) ? readFileSync(outbox, 'utf8') : '';
    expect(sent).not.toContain(head);
    const events = JSON.stringify(await gw.gateway.store.events.list({ runId: agent.runId, limit: 1000 }));
    expect(events).not.toContain(head);
    expect(events).not.toContain(tail);
  });
});
