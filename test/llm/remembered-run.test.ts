/**
 * On SQLite a request of a remembered run token is checked against the run as the store last
 * read it, and its reservation confirms nothing has written the run since (exchange.ts); every
 * other request reads the run first. The two paths must answer alike: the same requests, each on
 * its own run with the same history, through a proxy on the store and through one on the same
 * store with no run remembered (as on PostgreSQL), give the same status, answer, forwarded body,
 * audit events, run and usage.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventWriter } from '../../src/events/writer.js';
import { createLlmProxy } from '../../src/llm/proxy.js';
import { createLogger } from '../../src/log.js';
import { parsePolicy } from '../../src/policy/load.js';
import { RunService } from '../../src/runs/service.js';
import { createScrubber } from '../../src/scrub/index.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { tempDir } from '../helpers/harness.js';

const REAL_KEY = 'sk-ant-real-key-for-tests-0123456789';
const PROFILES = ['plain', 'models', 'usd', 'tight', 'doors'] as const;

let fake: FakeAnthropic;
let store: SqliteStore;
let runs: RunService;
let remembered = 0;
const servers: ReturnType<typeof serve>[] = [];
const urls: { fast: string; slow: string } = { fast: '', slow: '' };

beforeAll(async () => {
  fake = await startFakeAnthropic();
  fake.delayMs = 0;
  const policy = parsePolicy(`
version: 1
upstreams: {}
llm:
  base_url: ${fake.url}
  api_key: { secret: ANTHROPIC_API_KEY }
  prices:
    claude-test: { input: 3, output: 15 }
profiles:
  plain:
    budgets: { tokens: { output: 100000 } }
  models:
    budgets: { tokens: { output: 100000 } }
    llm: { models: [claude-test] }
  usd:
    budgets: { usd: 5 }
  tight:
    budgets: { tokens: { output: 40 } }
  doors:
    budgets: { tokens: { output: 100000 } }
    llm: { server_tools: [web_search] }
`);
  const scrubber = createScrubber({ secrets: [REAL_KEY] });
  const logger = createLogger({ scrubber, level: 'silent' });
  store = openSqliteStore(join(tempDir(), 'store.db'));
  const events = new EventWriter(store.events, scrubber);
  runs = new RunService({ store, policy, events, scrubber });
  const counted: Store = {
    ...store,
    rememberedRun: (id) => {
      const run = store.rememberedRun?.(id);
      if (run) remembered++;
      return run;
    },
  };
  const serveProxy = async (s: Store) => {
    const app = new Hono();
    app.route(
      '/v1',
      createLlmProxy({
        policy,
        apiKey: REAL_KEY,
        store: s,
        runs,
        events,
        logger,
        scrubberFor: () => scrubber,
      }),
    );
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => server.once('listening', () => r()));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  urls.fast = await serveProxy(counted);
  urls.slow = await serveProxy({ ...store, rememberedRun: undefined });
});

afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  await store?.close();
  await fake?.close();
});

interface Case {
  model: string;
  maxTokens: number | undefined;
  tool: boolean;
  stream: boolean;
}

const cases: Case[] = [];
for (const model of ['claude-test', 'claude-other'])
  for (const maxTokens of [10, 30, undefined])
    for (const tool of [false, true])
      for (const stream of [false, true]) cases.push({ model, maxTokens, tool, stream });

/** Ids, times and run-specific values out, so two runs' records compare. */
function normalized(text: string, runId: string): string {
  return text
    .replaceAll(runId, 'RUN')
    .replace(/\b(tok|msg|toolu|req|run)_[A-Za-z0-9_-]+/g, '$1_ID')
    .replace(/"(at|latencyMs|durationMs|ms|createdAt|created_at|expiresAt)":\s*[\d.]+/g, '"$1":0');
}

async function send(
  url: string,
  token: string,
  c: Case,
): Promise<{ status: number; text: string; clamped: string | null }> {
  const res = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: c.model,
      ...(c.maxTokens === undefined ? {} : { max_tokens: c.maxTokens }),
      ...(c.stream ? { stream: true } : {}),
      ...(c.tool ? { tools: [{ type: 'web_search_20250305', name: 'web_search' }] } : {}),
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  return {
    status: res.status,
    text: await res.text(),
    clamped: res.headers.get('x-bulkhead-max-tokens-clamped'),
  };
}

/** Two plain requests (so the token is remembered), then the case; everything it left behind. */
async function outcome(url: string, profile: string, c: Case) {
  const { run, token } = await runs.create(profile);
  const warm: Case = { model: 'claude-test', maxTokens: 10, tool: false, stream: false };
  for (let i = 0; i < 2; i++) await send(url, token, warm);
  const before = fake.received.length;
  const answer = await send(url, token, c);
  const forwarded = fake.received.slice(before).map((r) => normalized(JSON.stringify(r.body), run.id));
  const events = (await store.events.list({ runId: run.id }))
    .sort((a, b) => a.id - b.id)
    .map((e) => normalized(JSON.stringify([e.kind, e.decision, e.code, e.actor, e.data]), run.id));
  const after = await runs.get(run.id);
  return {
    status: answer.status,
    text: normalized(answer.text, run.id),
    clamped: answer.clamped,
    forwarded,
    events,
    run: after && { state: after.state, endReason: after.endReason, taint: after.taint, read: after.read },
    usage: await store.tokens.usage(run.id),
  };
}

describe('a remembered run checked in its reservation', () => {
  it('answers every request as the path that reads the run first does', async () => {
    let compared = 0;
    for (const profile of PROFILES) {
      for (const c of cases) {
        const before = remembered;
        const fast = await outcome(urls.fast, profile, c);
        // The fast proxy took the run from memory for the case (and the second warm-up request).
        expect(remembered).toBeGreaterThan(before);
        const slow = await outcome(urls.slow, profile, c);
        expect({ profile, ...c, ...fast }).toEqual({ profile, ...c, ...slow });
        compared++;
      }
    }
    expect(compared).toBe(PROFILES.length * cases.length);
  }, 120_000);
});
