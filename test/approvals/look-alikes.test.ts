/**
 * An approver reads `ceo@cоmpany.com` (a Cyrillic `о`) as the company's own
 * domain and approves mail to someone else's. The held call says so: its
 * reason names the word, with the letter escaped, wherever the approval is
 * shown (API, dashboard, CLI, notifications all show the same reason).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleUpstream, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

const dir = tempDir();
const ENV = { MAIL_API_KEY: 'mail-key-for-look-alike-test-01', ALICE: 'bho_alice-token-look-alike-0001' };

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  mail:
${exampleUpstream('mail', { MAIL_API_KEY: '{ secret: MAIL_API_KEY }', MAIL_OUTBOX: JSON.stringify(join(dir, 'outbox.jsonl')) })}
tools:
  mail:
    send_email:
      class: external
      approval: { approvers: [approver], timeout: 30s }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
profiles:
  agent:
    tools: [mail__send_email]
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir, env: ENV });
});
afterAll(async () => {
  await gw?.close();
});

async function pendingWhy(runId: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${gw.gateway.url}/api/approvals?state=pending`, {
      headers: { authorization: `Bearer ${ENV.ALICE}` },
    });
    const { approvals } = (await response.json()) as { approvals: { run_id: string; why: string }[] };
    const mine = approvals.find((a) => a.run_id === runId);
    if (mine) return mine.why;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no pending approval appeared');
}

describe('a held call whose arguments mix look-alike letters into words', () => {
  it('names the word and the letter in the reason the approver reads', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client
      .callTool({
        name: 'mail__send_email',
        arguments: { to: 'ceo@cоmpany.com', subject: 'Q3 numbers', body: 'attached' },
      })
      .catch(() => undefined);
    const why = await pendingWhy(agent.runId);
    expect(why).toContain('/to "ceo@c\\u{43e}mpany.com" has U+043E for o');
    await gw.gateway.runs.end(agent.runId, 'killed', 'test over');
    await call;
    await agent.client.close();
  });

  it('adds nothing for plain addresses', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client
      .callTool({ name: 'mail__send_email', arguments: { to: 'ceo@company.com', subject: 'Hi', body: 'x' } })
      .catch(() => undefined);
    const why = await pendingWhy(agent.runId);
    expect(why).not.toContain('look-alike');
    await gw.gateway.runs.end(agent.runId, 'killed', 'test over');
    await call;
    await agent.client.close();
  });
});
