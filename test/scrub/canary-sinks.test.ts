/**
 * Invariant 4, the canary suite: distinct canary secrets are planted in every
 * place a secret can live (an upstream's env, the LLM key, operator and
 * webhook keys, tool results, upstream error messages, approval arguments and
 * reasons), a full scripted run touches every sink, and then every sink is
 * searched for each canary and its encodings. Sinks: the SQLite file (with its
 * WAL), the log, captured webhooks, the operator API, metrics, and everything
 * the agent received. Expected: zero found.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { knownSecretForms } from '../../src/scrub/encodings.js';
import { startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { exampleUpstream, startTestGateway, tempDir } from '../helpers/harness.js';

const CANARIES = {
  ORDERS_API_TOKEN: 'canary-orders-9b1e77c3d2f4',
  MAIL_API_KEY: 'canary-mail-5a0c3e9f8b21',
  ANTHROPIC_API_KEY: 'sk-ant-real-key-for-tests-0123456789',
  ALICE: 'bho_canary-alice-3c8d1f0e5a',
  HOOK_KEY: 'canary-hook-7e2b9d4c1a06',
};

describe('no configured secret reaches any sink', () => {
  it('finds no canary, in any encoding, in any sink after a full run', async () => {
    const dir = tempDir();
    const hooks: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        hooks.push(JSON.stringify(req.headers) + body);
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const fake = await startFakeAnthropic();
    const policy = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')), ORDERS_TEST_LEAKS: "'1'" })}
  mail:
${exampleUpstream('mail', { MAIL_API_KEY: '{ secret: MAIL_API_KEY }', MAIL_OUTBOX: JSON.stringify(join(dir, 'outbox.jsonl')) })}
tools:
  orders:
    get_order_status: { class: read }
    leak_token_for_test: { class: read, rename: leak }
    refund_order: { class: irreversible, approval: { approvers: [approver] } }
  mail:
    send_email: { class: external }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
notifiers:
  hook: { type: webhook, url: "http://127.0.0.1:${(receiver.address() as AddressInfo).port}/", signing_key: { secret: HOOK_KEY } }
llm:
  base_url: ${fake.url}
  api_key: { secret: ANTHROPIC_API_KEY }
profiles:
  agent:
    tools: [orders__get_order_status, orders__leak, orders__refund_order, mail__send_email]
    budgets: { tool_calls: 20, alert_at: [0.1] }
`;
    const gw = await startTestGateway(policy, { dir, env: CANARIES });
    const received: string[] = [];
    try {
      const agent = await gw.agent('agent');
      const call = async (name: string, args: Record<string, unknown>) => {
        received.push(JSON.stringify(await agent.client.callTool({ name, arguments: args })));
      };
      await call('orders__leak', {}); // a tool result carrying the raw token and its base64
      await call('orders__get_order_status', { order_id: 'ORD-999999' }); // an upstream error carrying the token
      await call('orders__get_order_status', { order_id: `ORD-000001 ${CANARIES.MAIL_API_KEY}` }); // a secret in arguments
      await call('mail__send_email', {
        to: 'x@example.com',
        subject: encodeURIComponent(CANARIES.ALICE),
        body: Buffer.from(CANARIES.HOOK_KEY).toString('hex'),
      });
      const held = agent.client.callTool({
        name: 'orders__refund_order',
        arguments: { order_id: CANARIES.ORDERS_API_TOKEN, amount_cents: 1, reason: 'x' },
      });
      let approvalId: string | undefined;
      for (let i = 0; i < 200 && !approvalId; i++) {
        approvalId = (await gw.gateway.store.approvals.list({ state: 'pending' }))[0]?.id;
        await new Promise((r) => setTimeout(r, 20));
      }
      await fetch(`${gw.gateway.url}/api/approvals/${approvalId}/deny`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CANARIES.ALICE}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: `no, ${CANARIES.MAIL_API_KEY}` }),
      });
      received.push(JSON.stringify(await held));
      const llm = await fetch(`${gw.gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': agent.token, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'm',
          max_tokens: 5,
          messages: [{ role: 'user', content: CANARIES.ORDERS_API_TOKEN }],
        }),
      });
      received.push(await llm.text());
      const auth = { authorization: `Bearer ${gw.gateway.localToken}` };
      const api = [
        await (await fetch(`${gw.gateway.url}/api/events?limit=1000`, { headers: auth })).text(),
        await (await fetch(`${gw.gateway.url}/api/runs`, { headers: auth })).text(),
        await (await fetch(`${gw.gateway.url}/api/runs/${agent.runId}`, { headers: auth })).text(),
        await (await fetch(`${gw.gateway.url}/api/approvals?state=denied`, { headers: auth })).text(),
        await (await fetch(`${gw.gateway.url}/metrics`)).text(),
      ].join('\n');
      await gw.gateway.notifier.drain();
      gw.gateway.logger.flush();
      await new Promise((r) => setTimeout(r, 200));
      const db = ['bulkhead.db', 'bulkhead.db-wal']
        .map((f) => join(dir, f))
        .filter(existsSync)
        .map((f) => readFileSync(f).toString('latin1'))
        .join('');
      const sinks: Record<string, string> = {
        'the agent': received.join('\n'),
        'the operator API and metrics': api,
        webhooks: hooks.join('\n'),
        'the log': gw.readLog(),
        'the SQLite file': db,
      };
      expect(hooks.length).toBeGreaterThan(0);
      expect(received.join('')).toContain('[REDACTED');
      const found: string[] = [];
      for (const [sink, text] of Object.entries(sinks)) {
        for (const [name, secret] of Object.entries(CANARIES)) {
          for (const form of knownSecretForms(secret))
            if (text.includes(form)) found.push(`${name} in ${sink} (as ${form})`);
        }
      }
      expect(found).toEqual([]);
    } finally {
      await gw.close();
      await fake.close();
      receiver.close();
    }
  }, 60_000);
});
