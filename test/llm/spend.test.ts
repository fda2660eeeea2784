/**
 * Spend caps that cannot be dodged, tried with the real Anthropic SDK
 * against a fake that counts input the way real tokenizers count dense
 * scripts (one token per CJK character or emoji): 50 concurrent requests and
 * one large request stay inside a 3,000-token cap (the bound DESIGN.md
 * states: no overshoot beyond count_tokens' own error, exact here); an
 * unpriced model is refused under a USD cap, never charged $0; the USD cap
 * clamps max_tokens instead of refusing a fresh run's first request; a run
 * that spends its budget ends `exhausted`; a reservation left open by a
 * kill -9 is settled and audited when the gateway starts again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestGateway, tempDir } from '../helpers/harness.js';
import { anthropicAgent, llmPolicy, PRICES, REAL_KEY, useLlmGateway } from '../helpers/llm-harness.js';

const PROFILES = `
  input-cap:
    budgets: { tokens: { input: 3000, cache_write_weight: 1 } }
  total-cap:
    budgets: { tokens: { total: 3000, cache_write_weight: 1 } }
  dollars:
    budgets: { usd: 0.01 }
  pennies:
    budgets: { usd: 0.0002 }
  free:
    budgets: { tokens: { output: 1000 } }
`;
const llm = useLlmGateway(PROFILES, PRICES);
beforeAll(() => {
  llm.fake.countInput = true;
  llm.fake.usage = { input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
});

const CJK = '漢字仮名交じり文は一文字が一トークンほどになる。';
const EMOJI = '🔥🚀✨🎉';

const sdk = (profile: string) => anthropicAgent(llm.gw, profile);

const sent = () => llm.fake.received.filter((r) => r.path === '/v1/messages');

afterEach(() => {
  llm.fake.delayMs = 5;
});

describe('dense text cannot beat the input bound', () => {
  for (const [profile, dimension] of [
    ['input-cap', 'input'],
    ['total-cap', 'total'],
  ] as const) {
    it(`50 concurrent CJK, emoji and base64 requests stay inside a 3,000-token ${dimension} cap`, async () => {
      llm.fake.delayMs = 20;
      const { client, runId } = await sdk(profile);
      const texts = [CJK.repeat(8), EMOJI.repeat(40), Buffer.from(CJK.repeat(6)).toString('base64')];
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          client.messages.create({
            model: 'claude-test',
            max_tokens: 8,
            messages: [{ role: 'user', content: texts[i % 3] as string }],
          }),
        ),
      );
      const usage = await llm.gw.gateway.store.tokens.usage(runId);
      const used = dimension === 'input' ? usage.input : usage.input + usage.output;
      expect(used).toBeLessThanOrEqual(3000);
      // Not a cap that refuses everything: a good share of the budget went to real requests.
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(5);
      expect(used).toBeGreaterThan(1500);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(Anthropic.PaymentRequiredError);
    });
  }

  it('one large CJK request over the cap is refused before it is sent, however few bytes per token', async () => {
    const { client, runId } = await sdk('input-cap');
    const before = sent().length;
    const error = await client.messages
      .create({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: CJK.repeat(300) }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.PaymentRequiredError);
    expect(sent().length).toBe(before);
    expect((await llm.gw.gateway.store.tokens.usage(runId)).input).toBe(0);
  });

  it('a request whose byte bound does not fit but whose exact count does is sent (count_tokens decides)', async () => {
    const { client, runId } = await sdk('input-cap');
    // ~2,700 tokens by the fake's count, ~8,000 bytes: refused by the bound alone.
    const message = await client.messages.create({
      model: 'claude-test',
      max_tokens: 8,
      messages: [{ role: 'user', content: CJK.repeat(100) }],
    });
    expect(message.type).toBe('message');
    const usage = await llm.gw.gateway.store.tokens.usage(runId);
    expect(usage.input).toBeGreaterThan(2000);
    expect(usage.input).toBeLessThanOrEqual(3000);
  });
});

describe('USD caps', () => {
  it('refuses a model without a price under a USD budget instead of charging it $0', async () => {
    const { client, runId } = await sdk('dollars');
    const before = sent().length;
    const error = await client.messages
      .create({ model: 'claude-unpriced', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String(error)).toContain('has no price');
    expect(sent().length).toBe(before);
    const [event] = await llm.gw.gateway.store.events.list({ runId, kind: 'llm.request' });
    expect(event).toMatchObject({ decision: 'deny', code: 'unpriced_model' });
  });

  it('allows an unpriced model where no USD budget applies', async () => {
    const { client } = await sdk('free');
    const message = await client.messages.create({
      model: 'claude-unpriced',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.type).toBe('message');
  });

  it("clamps a fresh run's large first request to what the USD cap can pay, instead of refusing it", async () => {
    const { client, runId } = await sdk('dollars');
    const message = await client.messages.create({
      model: 'claude-test',
      max_tokens: 4096,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.type).toBe('message');
    const forwarded = Number(sent().at(-1)?.body.max_tokens);
    // $0.01 at $15 per million output tokens is 666 tokens, less the input's price.
    expect(forwarded).toBeGreaterThan(500);
    expect(forwarded).toBeLessThan(667);
    expect((await llm.gw.gateway.store.tokens.usage(runId)).usd).toBeLessThanOrEqual(0.01);
  });

  it('ends a run that spends its USD budget as exhausted, and refuses it as billing, not authentication', async () => {
    const { client, runId } = await sdk('pennies');
    for (let i = 0; i < 20; i++) {
      const r = await client.messages
        .create({ model: 'claude-test', max_tokens: 200, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      if (r instanceof Error) {
        expect(r).toBeInstanceOf(Anthropic.PaymentRequiredError);
        break;
      }
    }
    const run = await llm.gw.gateway.runs.get(runId);
    expect(run?.state).toBe('exhausted');
    expect(run?.endReason).toContain('USD');
    expect((await llm.gw.gateway.store.tokens.usage(runId)).usd).toBeLessThanOrEqual(0.0002);
  });
});

describe('a crash leaves no reservation open', () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill('SIGKILL'));

  it('settles a stream cut by kill -9 at what it reserved, with an outcome_unknown event, on the next start', async () => {
    const dir = tempDir();
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, llmPolicy(llm.fake.url, PROFILES, PRICES));
    const home = join(dir, 'home');
    child = spawn(
      process.execPath,
      [join(ROOT, 'bin/bulkhead.js'), 'gateway', '--policy', file, '--port', '0'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ANTHROPIC_API_KEY: REAL_KEY,
          BULKHEAD_HOME: home,
          BULKHEAD_FROM_SOURCE: '1',
          BULKHEAD_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let url: string | undefined;
    for (let i = 0; i < 600 && !url; i++) {
      url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    expect(url).toBeDefined();
    const admin = readFileSync(join(home, `gateway-${new URL(url as string).port}.token`), 'utf8').trim();
    const created = (await (
      await fetch(`${url}/api/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ profile: 'free' }),
      })
    ).json()) as { run_id: string; token: string };
    llm.fake.delayMs = 500;
    const client = new Anthropic({ apiKey: created.token, baseURL: url, maxRetries: 0 });
    const stream = client.messages.stream({
      model: 'claude-test',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    await new Promise<void>((resolve) => stream.on('streamEvent', () => resolve()));
    child.kill('SIGKILL');
    await stream.finalMessage().catch(() => undefined);

    const restarted = await startTestGateway(llmPolicy(llm.fake.url, PROFILES, PRICES), {
      dir,
      env: { ANTHROPIC_API_KEY: REAL_KEY },
    });
    try {
      const usage = await restarted.gateway.store.tokens.usage(created.run_id);
      expect(usage.requests).toBe(1);
      expect(usage.output).toBe(100); // the reservation: max_tokens, since the real usage was lost
      const events = await restarted.gateway.store.events.list({
        runId: created.run_id,
        kind: 'llm.request',
      });
      expect(events).toEqual([expect.objectContaining({ code: 'outcome_unknown' })]);
      // Reconciled once: a second start finds nothing left.
      expect(await restarted.gateway.store.tokens.orphans(Date.now())).toEqual([]);
    } finally {
      await restarted.close();
    }
  }, 60_000);
});
