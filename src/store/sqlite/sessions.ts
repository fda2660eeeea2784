/** Dashboard sign-ins on the SQLite store, so a restart or another process serves the same operator. */
import type Database from 'better-sqlite3';
import type { SessionStore, StoredSession } from '../store.js';
import type { Migration } from './migrate.js';

export const sessionMigrations: Migration[] = [
  {
    id: 'sessions/1',
    sql: `
      CREATE TABLE dashboard_sessions (
        hash TEXT PRIMARY KEY,
        operator TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);`,
  },
];

interface Row {
  hash: string;
  operator: string;
  csrf: string;
  created_at: number;
  last_seen: number;
  expires_at: number;
}

export function toStoredSession(row: Row): StoredSession {
  return {
    hash: row.hash,
    operator: row.operator,
    csrf: row.csrf,
    createdAt: Number(row.created_at),
    lastSeen: Number(row.last_seen),
    expiresAt: Number(row.expires_at),
  };
}

export function sqliteSessions(db: Database.Database): SessionStore {
  return {
    async put(s) {
      db.prepare('DELETE FROM dashboard_sessions WHERE expires_at < ?').run(Date.now());
      db.prepare(
        `INSERT OR REPLACE INTO dashboard_sessions (hash, operator, csrf, created_at, last_seen, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(s.hash, s.operator, s.csrf, s.createdAt, s.lastSeen, s.expiresAt);
    },
    async get(hash) {
      const row = db.prepare('SELECT * FROM dashboard_sessions WHERE hash = ?').get(hash) as Row | undefined;
      return row && toStoredSession(row);
    },
    async touch(hash, lastSeen) {
      db.prepare('UPDATE dashboard_sessions SET last_seen = max(last_seen, ?) WHERE hash = ?').run(
        lastSeen,
        hash,
      );
    },
    async delete(hash) {
      db.prepare('DELETE FROM dashboard_sessions WHERE hash = ?').run(hash);
    },
  };
}
