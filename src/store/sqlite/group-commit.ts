/**
 * Group commit for a call's small writes: its budget reservation and its
 * intent. With WAL and `synchronous = NORMAL`, a commit (writing the changed
 * pages to the log) is most of what such a write costs, and concurrent calls
 * each paid one. Writes submitted in the same turn of the event loop now share
 * one `BEGIN IMMEDIATE … COMMIT`; each runs in its own savepoint, so one that
 * fails rolls back alone and only its caller sees the error.
 *
 * Nothing is weaker than before: each write resolves only once its
 * transaction has committed, and a write that must check and change
 * (a reservation) still does both under the write lock. A lock held by
 * another process fails the whole group with SQLITE_BUSY, which the store's
 * retry (busy.ts) answers per write, as before.
 */
import type Database from 'better-sqlite3';

interface Pending {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Done = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT group_write');
    this.release = db.prepare('RELEASE group_write');
    this.rollbackTo = db.prepare('ROLLBACK TO group_write');
  }

  /** Runs `op` (synchronous statements only) in the next group; resolves once it is committed. */
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // After this turn's I/O callbacks: the writes of requests that arrived together commit together.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const db = this.db;
    const done: Done[] = [];
    try {
      this.begin.run();
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    try {
      // Alone in its group (one call in flight): no savepoint needed, it is the transaction.
      if (batch.length === 1) done.push({ ok: true, value: (batch[0] as Pending).op() });
      else for (const p of batch) done.push(this.inSavepoint(p.op));
      this.commit.run();
    } catch (error) {
      if (db.inTransaction) this.rollback.run();
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const outcome = done[i] as Done;
      if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    });
  }

  private inSavepoint(op: () => unknown): Done {
    this.savepoint.run();
    try {
      const value = op();
      this.release.run();
      return { ok: true, value };
    } catch (error) {
      // An error that ended the whole transaction (SQLite rolls back on some) took the others with it.
      if (!this.db.inTransaction) throw error;
      this.rollbackTo.run();
      this.release.run();
      return { ok: false, error };
    }
  }
}
