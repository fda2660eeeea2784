/** Notices on their way out, on the PostgreSQL store (`NoticeOutbox`). */
import type { Pool } from 'pg';
import { type NoticeRow, toNotices } from '../sqlite/notices.js';
import type { NoticeOutbox } from '../store.js';
import type { PgMigration } from './migrate.js';

export const pgNoticeMigrations: PgMigration[] = [
  {
    id: 'notices/1',
    sql: `
      CREATE TABLE notice_outbox (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        target TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX notice_outbox_owner ON notice_outbox (owner);`,
  },
  {
    // As SQLite's notices/2: a notice no receiver took waits for its next round.
    id: 'notices/2',
    sql: `ALTER TABLE notice_outbox ADD COLUMN retry_at BIGINT, ADD COLUMN rounds INTEGER NOT NULL DEFAULT 0;`,
  },
];

export function pgNotices(pool: Pool): NoticeOutbox {
  return {
    async put(n) {
      await pool.query(
        'INSERT INTO notice_outbox (id, owner, target, body, created_at) VALUES ($1, $2, $3, $4, $5)',
        [n.id, n.owner, n.target, n.body, n.createdAt],
      );
    },
    async remove(id) {
      await pool.query('DELETE FROM notice_outbox WHERE id = $1', [id]);
    },
    // Replicas adopting at once skip each other's rows: each notice gets one new owner.
    async adoptOrphans(owner, limit) {
      const { rows } = await pool.query<NoticeRow>(
        `UPDATE notice_outbox SET owner = $1, retry_at = NULL
         WHERE id IN (SELECT id FROM notice_outbox WHERE owner NOT IN (SELECT id FROM replicas)
                      ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [owner, limit],
      );
      return toNotices(rows);
    },
    async defer(id, retryAt) {
      await pool.query('UPDATE notice_outbox SET retry_at = $1, rounds = rounds + 1 WHERE id = $2', [
        retryAt,
        id,
      ]);
    },
    async takeDue(owner, now, limit) {
      const { rows } = await pool.query<NoticeRow>(
        `UPDATE notice_outbox SET retry_at = NULL
         WHERE id IN (SELECT id FROM notice_outbox WHERE owner = $1 AND retry_at <= $2
                      ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [owner, now, limit],
      );
      return toNotices(rows);
    },
  };
}
