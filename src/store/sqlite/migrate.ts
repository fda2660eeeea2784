/**
 * Migrations for the SQLite store. Each area owns a list of named steps
 * (`runs/1`, `approvals/1`, ...); a step runs once, in its own transaction,
 * and is recorded, so areas can grow independently without renumbering.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  id: string;
  sql: string;
}

export function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((row) => row.id),
  );
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  for (const step of migrations) {
    if (applied.has(step.id)) continue;
    db.transaction(() => {
      db.exec(step.sql);
      record.run(step.id, Date.now());
    })();
  }
}
