import type Database from 'better-sqlite3';

/** WAL frames appended by `write` (the log is checkpointed empty first): the pages a write costs. */
export async function framesOf(db: Database.Database, write: () => Promise<unknown>): Promise<number> {
  db.pragma('wal_checkpoint(TRUNCATE)');
  await write();
  const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
  return row?.log ?? Number.NaN;
}
