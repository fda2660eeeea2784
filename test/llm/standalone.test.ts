/**
 * The LLM proxy as a library, assembled from its parts the way the gateway
 * does (store, runs, events, notifier) and served on its own with
 * @hono/node-server: the real Anthropic SDK through it against the fake API,
 * and budget alerts delivered once per threshold to a local webhook receiver.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventWriter } from '../../src/events/writer.js';
import { createLlmProxy } from '../../src/llm/proxy.js';
import { createLogger } from '../../src/log.js';
import { createNotifier, type Notifier } from '../../src/notify/notifier.js';
import { parsePolicy } from '../../src/policy/load.js';
import { RunService } from '../../src/runs/service.js';
import { createScrubber } from '../../src/scrub/index.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { tempDir } from '../helpers/harness.js';

const REAL_KEY = 'sk-ant-real-key-for-tests-0123456789';

let fake: FakeAnthropic;
let receiver: Server;
const delivered: { kind: string; data: { dimension: string; fraction: number } }[] = [];
let store: SqliteStore;
let runs: RunService;
let notifier: Notifier;
let proxy: ReturnType<typeof serve>;
let proxyUrl = '';

beforeAll(async () => {
  fake = await startFakeAnthropic();
  receiver = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk.toString();
    delivered.push(JSON.parse(body));
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const policy = parsePolicy(`
version: 1
upstreams: {}
llm:
  base_url: ${fake.url}
  api_key: { secret: ANTHROPIC_API_KEY }
  prices:
    claude-test: { input: 3, output: 15 }
notifiers:
  ops:
    type: webhook
    url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook
profiles:
  agent:
    budgets: { tokens: { output: 30 }, alert_at: [0.5, 0.8, 1] }
`);
  const dir = tempDir();
  const scrubber = createScrubber({ secrets: [REAL_KEY] });
  const logger = createLogger({ scrubber, level: 'silent' });
  store = openSqliteStore(join(dir, 'store.db'));
  const events = new EventWriter(store.events, scrubber);
  runs = new RunService({ store, policy, events, scrubber });
  notifier = createNotifier(policy, { source: { env: {}, dir }, scrubber, logger, retries: 0 });
  const app = new Hono();
  app.route(
    '/v1',
    createLlmProxy({
      policy,
      apiKey: REAL_KEY,
      store,
      runs,
      events,
      logger,
      notifier,
      scrubberFor: () => scrubber,
    }),
  );
  proxy = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => proxy.once('listening', () => r()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await new Promise((r) => receiver?.close(r));
  await store?.close();
  await fake?.close();
});

describe('LLM proxy as a library', () => {
  it('sends one webhook alert per threshold crossed, on the request that crossed it', async () => {
    const { token } = await runs.create('agent');
    const client = new Anthropic({ apiKey: token, baseURL: proxyUrl, maxRetries: 0 });
    const ask = { model: 'claude-test', messages: [{ role: 'user' as const, content: 'hi' }] };
    // 12 output tokens each against 30: 12, 24 (crosses 50% and 80%), then clamped to 6 (crosses 100%).
    for (let i = 0; i < 3; i++) await client.messages.create({ ...ask, max_tokens: 12 });
    const refused = await client.messages.create({ ...ask, max_tokens: 12 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.PaymentRequiredError);
    await notifier.drain();
    expect(delivered.map((d) => `${d.kind} ${d.data.dimension}@${d.data.fraction}`)).toEqual([
      'budget.alert output_tokens@0.5',
      'budget.alert output_tokens@0.8',
      'budget.alert output_tokens@1',
    ]);
  });
});
