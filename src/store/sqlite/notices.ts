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
];

/** An outbox row as either driver returns it (PostgreSQL's BIGINT as a string). */
export interface NoticeRow {
  id: string;
  owner: string;
  target: string;
  body: string;
  created_at: number | string;
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
});

export function sqliteNotices(db: Database.Database): NoticeOutbox {
  const put = db.prepare(
    'INSERT INTO notice_outbox (id, owner, target, body, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const remove = db.prepare('DELETE FROM notice_outbox WHERE id = ?');
  // The same ownership test as an intent's: an owner with no row in `replicas` is gone.
  const adopt = db.prepare(
    `UPDATE notice_outbox SET owner = ?
     WHERE id IN (SELECT id FROM notice_outbox WHERE owner NOT IN (SELECT id FROM replicas)
                  ORDER BY created_at LIMIT ?)
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
  };
}
