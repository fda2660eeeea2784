/**
 * The notifier's outbox on a real SQLite store: a notice is kept, scrubbed, until delivered or
 * given up; the notices of a replica that holds no lease are adopted and sent by another.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePolicy } from '../policy/load.js';
import { createScrubber } from '../scrub/index.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { createNotifier, type Notice, type Rounds } from './notifier.js';

const SECRET = 'outbox-test-secret-value-41c7e2';
const servers: Server[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  for (const s of stores.splice(0)) await s.close();
});

/** A receiver answering every request with `status` (which a test may change). */
async function receiver(
  status: number,
): Promise<{ url: string; got: IncomingHttpHeaders[]; status: number }> {
  const got: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push(req.headers);
      res.writeHead(answering.status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const answering = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, status };
  return answering;
}

/** Rounds a test drives itself (`sendDue`), unless it asks for the notifier's own timer. */
const manual: Rounds = { everyMs: 3_600_000, waitMs: () => 0, keepMs: 3_600_000 };

function notifier(
  store: SqliteStore,
  owner: string,
  url: string,
  name = 'hook',
  timing: { rounds?: Rounds; now?: () => number } = {},
) {
  const policy = parsePolicy(
    `version: 1\nstore: { sqlite: ':memory:' }\nupstreams: {}\nprofiles: {}\nnotifiers:\n  ${name}: { type: webhook, url: "${url}" }\n`,
  );
  return createNotifier(policy, {
    source: { env: {}, dir: '/' },
    scrubber: createScrubber({ secrets: [SECRET] }),
    logger: pino({ level: 'silent' }),
    retries: 0,
    backoffMs: 1,
    outbox: { store: store.notices, owner },
    rounds: timing.rounds ?? manual,
    ...(timing.now ? { now: timing.now } : {}),
  });
}

function rows(store: SqliteStore): { id: string; rounds: number; retry_at: number | null }[] {
  return store.db.prepare('SELECT id, rounds, retry_at FROM notice_outbox').all() as {
    id: string;
    rounds: number;
    retry_at: number | null;
  }[];
}

const notice: Notice = { kind: 'budget.alert', title: 'Run used 80%', data: { note: `key ${SECRET}` } };

function kept(store: SqliteStore): { owner: string; body: string }[] {
  return store.db.prepare('SELECT owner, body FROM notice_outbox').all() as { owner: string; body: string }[];
}

function open(): SqliteStore {
  const store = openSqliteStore(':memory:');
  stores.push(store);
  return store;
}

describe('the notice outbox', () => {
  it('keeps nothing once a notice was delivered', async () => {
    const store = open();
    const r = await receiver(200);
    const n = notifier(store, 'me', r.url);
    n.send(notice);
    await n.drain();
    expect(r.got).toHaveLength(1);
    expect(kept(store)).toEqual([]);
  });

  it('keeps a notice scrubbed while it is being delivered', async () => {
    const store = open();
    const r = await receiver(200);
    const n = notifier(store, 'me', r.url);
    n.send(notice);
    // Kept before the first attempt, which waits for the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    const rows = kept(store);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.body).not.toContain(SECRET);
    await n.drain();
  });

  it("sends a dead replica's notice from another, with its delivery id, and keeps it no more", async () => {
    const store = open();
    const body = JSON.stringify(notice);
    await store.notices.put({ id: 'left-1', owner: 'dead-replica', target: 'hook', body, createdAt: 1 });
    await store.replicas.register({ id: 'live', node: 'n', pid: 1 });
    const up = await receiver(200);
    const live = notifier(store, 'live', up.url);
    expect(await live.recover?.()).toBe(1);
    await live.drain();
    expect(up.got.map((h) => h['x-bulkhead-delivery'])).toEqual(['left-1']);
    expect(kept(store)).toEqual([]);
  });

  it("leaves a live replica's notices to it", async () => {
    const store = open();
    await store.replicas.register({ id: 'busy', node: 'n', pid: 1 });
    await store.notices.put({ id: 'n1', owner: 'busy', target: 'hook', body: '{}', createdAt: 1 });
    const r = await receiver(200);
    expect(await notifier(store, 'other', r.url).recover?.()).toBe(0);
    expect(kept(store)).toHaveLength(1);
  });

  it('forgets an orphaned notice whose notifier a reload removed', async () => {
    const store = open();
    await store.notices.put({ id: 'n2', owner: 'gone', target: 'removed', body: '{}', createdAt: 1 });
    const r = await receiver(200);
    const n = notifier(store, 'me', r.url);
    expect(await n.recover?.()).toBe(1);
    await n.drain();
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.got).toEqual([]);
    expect(kept(store)).toEqual([]);
  });
});

describe('a notice whose receiver is down', () => {
  it('is kept for another round, not dropped, and delivered there with the same delivery id', async () => {
    const store = open();
    const r = await receiver(503);
    const n = notifier(store, 'me', r.url);
    n.send(notice);
    await n.drain();
    expect(rows(store)).toMatchObject([{ rounds: 1 }]);
    r.status = 200;
    expect(await n.sendDue?.()).toBe(1);
    await n.drain();
    const ids = r.got.map((h) => h['x-bulkhead-delivery']);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(kept(store)).toEqual([]);
    n.close?.();
  });

  it('is dropped when its receiver refuses it with a 4xx, which another round would not change', async () => {
    const store = open();
    const r = await receiver(400);
    const n = notifier(store, 'me', r.url);
    n.send(notice);
    await n.drain();
    expect(r.got).toHaveLength(1);
    expect(kept(store)).toEqual([]);
    n.close?.();
  });

  it('waits for its round: not sent again before the wait after the last round is over', async () => {
    const store = open();
    const r = await receiver(503);
    let t = 1_000;
    const rounds: Rounds = { everyMs: 3_600_000, waitMs: (k) => 60_000 * 2 ** k, keepMs: 86_400_000 };
    const n = notifier(store, 'me', r.url, 'hook', { rounds, now: () => t });
    n.send(notice);
    await n.drain();
    expect(rows(store)).toEqual([expect.objectContaining({ rounds: 1, retry_at: 61_000 })]);
    t = 60_999;
    expect(await n.sendDue?.()).toBe(0);
    t = 61_000;
    expect(await n.sendDue?.()).toBe(1);
    await n.drain();
    // The second round waits twice as long.
    expect(rows(store)).toEqual([expect.objectContaining({ rounds: 2, retry_at: 61_000 + 120_000 })]);
    expect(r.got).toHaveLength(2);
    n.close?.();
  });

  it('is given up, and kept no more, once a round fails after its keep window', async () => {
    const store = open();
    const r = await receiver(503);
    let t = 0;
    const n = notifier(store, 'me', r.url, 'hook', { rounds: { ...manual, keepMs: 10_000 }, now: () => t });
    n.send(notice);
    await n.drain();
    expect(kept(store)).toHaveLength(1);
    t = 10_000;
    expect(await n.sendDue?.()).toBe(1);
    await n.drain();
    expect(r.got).toHaveLength(2);
    expect(kept(store)).toEqual([]);
    n.close?.();
  });

  it("does not send another live replica's kept notices at their round", async () => {
    const store = open();
    const r = await receiver(503);
    const mine = notifier(store, 'me', r.url);
    mine.send(notice);
    await mine.drain();
    const other = notifier(store, 'other', r.url);
    expect(await other.sendDue?.()).toBe(0);
    expect(await mine.sendDue?.()).toBe(1);
    await mine.drain();
    mine.close?.();
    other.close?.();
  });

  it('gets its next round from the notifier itself, with nobody asking', async () => {
    const store = open();
    const r = await receiver(503);
    const n = notifier(store, 'me', r.url, 'hook', { rounds: { ...manual, everyMs: 20 } });
    n.send(notice);
    await n.drain();
    r.status = 200;
    await vi.waitFor(() => expect(kept(store)).toEqual([]), { timeout: 5_000, interval: 20 });
    expect(r.got.length).toBeGreaterThanOrEqual(2);
    n.close?.();
  });

  it("is sent at once by the replica that adopts a stopped replica's notices, whatever its round", async () => {
    const store = open();
    await store.notices.put({
      id: 'late-1',
      owner: 'stopped',
      target: 'hook',
      body: JSON.stringify(notice),
      createdAt: 1,
    });
    await store.notices.defer('late-1', Number.MAX_SAFE_INTEGER);
    const up = await receiver(200);
    const live = notifier(store, 'live', up.url);
    expect(await live.recover?.()).toBe(1);
    await live.drain();
    expect(up.got.map((h) => h['x-bulkhead-delivery'])).toEqual(['late-1']);
    expect(kept(store)).toEqual([]);
    live.close?.();
  });
});
