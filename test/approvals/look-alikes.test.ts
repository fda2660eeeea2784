/**
 * An approver reads `ceo@cоmpany.com` (a Cyrillic `о`) as the company's own
 * domain and approves mail to someone else's. The held call says so: its
 * reason names the word, with the letter escaped, wherever the approval is
 * shown (API, dashboard, CLI, notifications all show the same reason).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visible } from '../../src/cli/approval-arguments.js';
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

/** `text` as bytes in variation selectors (VS1–VS256): nothing a page or terminal shows. */
const inSelectors = (text: string) =>
  [...Buffer.from(text)].map((b) => String.fromCodePoint(b < 16 ? 0xfe00 + b : 0xe0100 + b - 16)).join('');

/** The reason a held call of `args` shows its approver (the call is then ended). */
async function whyFor(args: Record<string, unknown>): Promise<string> {
  const agent = await gw.agent('agent');
  const call = agent.client.callTool({ name: 'mail__send_email', arguments: args }).catch(() => undefined);
  const why = await pendingWhy(agent.runId);
  await gw.gateway.runs.end(agent.runId, 'killed', 'test over');
  await call;
  await agent.client.close();
  return why;
}

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

  it('names letters whose compatibility form is ASCII: mathematical, Roman-numeral, enclosed, dotless', async () => {
    const why = await whyFor({
      to: 'ceo@𝖼ompany.com',
      subject: 'wire to 37𝟎4',
      body: 'see gıthub.com and cⓞmpany at paypaⅼ.com',
    });
    expect(why).toContain('/to "ceo@\\u{1d5bc}ompany.com" has U+1D5BC for c');
    expect(why).toContain('"paypa\\u{217c}.com" has U+217C for l');
    expect(why).toContain('/subject "37\\u{1d7ce}4" has U+1D7CE for 0');
    expect(why).toContain('U+0131 for i');
    expect(why).toContain('U+24DE for o');
  });
});

describe('a held call whose arguments hold characters nobody can see', () => {
  it('tells the approver how much text is smuggled in variation selectors, without spelling it out', async () => {
    const why = await whyFor({
      to: 'ceo@company.com',
      subject: 'Hi',
      body: `Thanks! 👋${inSelectors('db at 10.0.0.7')}`,
    });
    expect(why).toContain('/body has 14 invisible hiding 14 characters of text');
    expect(why).not.toContain('10.0.0.7');
  });

  it('names a bidi override, a zero-width character and a Hangul filler', async () => {
    const args = { to: 'ceo@com\u200bpany.com', subject: 'invoice\u202Efdp.exe', body: 'ok\u3164' };
    const why = await whyFor(args);
    for (const field of Object.keys(args)) expect(why).toContain(`/${field} has 1 invisible`);
  });

  it('says nothing of an emoji with its presentation selector', async () => {
    const why = await whyFor({ to: 'ceo@company.com', subject: 'Hi', body: 'ok 👍\uFE0F' });
    expect(why).not.toContain('hidden characters');
  });

  it('shows selectors, fillers and interlinear annotations as escapes in the terminal view', () => {
    expect(visible(`a${inSelectors('k')}\u3164\uFFF9x\uFFFB\u034F`)).toBe(
      'a\\u{e015b}\\u{3164}\\u{fff9}x\\u{fffb}\\u{34f}',
    );
  });
});
