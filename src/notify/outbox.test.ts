/**
 * The notifier's outbox on a real SQLite store: a notice is kept, scrubbed, until delivered or
 * given up; the notices of a replica that holds no lease are adopted and sent by another.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/load.js';
import { createScrubber } from '../scrub/index.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.js';
import { createNotifier, type Notice } from './notifier.js';

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

/** A receiver answering every request with `status`. */
async function receiver(status: number): Promise<{ url: string; got: IncomingHttpHeaders[] }> {
  const got: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push(req.headers);
      res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

function notifier(store: SqliteStore, owner: string, url: string, name = 'hook') {
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
  });
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
