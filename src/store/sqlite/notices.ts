/** Notices on their way out, on the SQLite store (`NoticeOutbox`). */
import type Database from 'better-sqlite3';
import type { NoticeOutbox, OutboxNotice } from '../store.js';
import type { Migration } from './migrate.js';

export const noticeMigrations: Migration[] = [
  {
    id: 'notices/1',
    sql: `
      CREATE TABLE notice_outbox (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        target TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX notice_outbox_owner ON notice_outbox (owner);`,
  },
  {
    // A notice whose receiver was down through a round of attempts waits for the next round
    // (retry_at), instead of being dropped; NULL while a replica is attempting it.
    id: 'notices/2',
    sql: `
      ALTER TABLE notice_outbox ADD COLUMN retry_at INTEGER;
      ALTER TABLE notice_outbox ADD COLUMN rounds INTEGER NOT NULL DEFAULT 0;`,
  },
];

/** An outbox row as either driver returns it (PostgreSQL's BIGINT as a string). */
export interface NoticeRow {
  id: string;
  owner: string;
  target: string;
  body: string;
  created_at: number | string;
  rounds: number;
}

/** Oldest first, as both stores hand them out. */
export const toNotices = (rows: NoticeRow[]): OutboxNotice[] =>
  rows.map(toNotice).sort((a, b) => a.createdAt - b.createdAt);

const toNotice = (r: NoticeRow): OutboxNotice => ({
  id: r.id,
  owner: r.owner,
  target: r.target,
  body: r.body,
  createdAt: Number(r.created_at),
  rounds: Number(r.rounds),
});

export function sqliteNotices(db: Database.Database): NoticeOutbox {
  const put = db.prepare(
    'INSERT INTO notice_outbox (id, owner, target, body, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const remove = db.prepare('DELETE FROM notice_outbox WHERE id = ?');
  // The same ownership test as an intent's: an owner with no row in `replicas` is gone.
  const adopt = db.prepare(
    `UPDATE notice_outbox SET owner = ?, retry_at = NULL
     WHERE id IN (SELECT id FROM notice_outbox WHERE owner NOT IN (SELECT id FROM replicas)
                  ORDER BY created_at LIMIT ?)
     RETURNING *`,
  );
  const defer = db.prepare('UPDATE notice_outbox SET retry_at = ?, rounds = rounds + 1 WHERE id = ?');
  const takeDue = db.prepare(
    `UPDATE notice_outbox SET retry_at = NULL
     WHERE id IN (SELECT id FROM notice_outbox WHERE owner = ? AND retry_at <= ? ORDER BY created_at LIMIT ?)
     RETURNING *`,
  );
  return {
    async put(n) {
      put.run(n.id, n.owner, n.target, n.body, n.createdAt);
    },
    async remove(id) {
      remove.run(id);
    },
    async adoptOrphans(owner, limit) {
      return toNotices(adopt.all(owner, limit) as NoticeRow[]);
    },
    async defer(id, retryAt) {
      defer.run(retryAt, id);
    },
    async takeDue(owner, now, limit) {
      return toNotices(takeDue.all(owner, now, limit) as NoticeRow[]);
    },
  };
}
