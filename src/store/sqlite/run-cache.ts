/**
 * Runs as last read, kept in memory for as long as nothing can have changed
 * them. Every tools/call reads its run (so a kill or expiry takes effect on
 * the very next call); most of the time nothing changed, and the read and its
 * JSON decoding were a fixed cost of every call.
 *
 * What can change a run: this store's own writes (create, end, taint,
 * markRead forget the run before they write), and other connections to the
 * same file (another gateway process, `bulkhead kill` with a direct store).
 * SQLite's `PRAGMA data_version` changes whenever another connection has
 * committed anything since this connection last asked, so a changed version
 * empties the cache and the next read goes to the file. Checking it costs
 * far less than the read.
 *
 * Runs handed out are frozen: one object is shared by every call that reads
 * it, and nobody may edit what another call sees.
 */
import type Database from 'better-sqlite3';
import type { Run } from '../../runs/run.js';

/** Enough for every active run of a busy gateway; past it the cache starts over. */
const MAX_CACHED = 4096;

export class RunCache {
  private readonly runs = new Map<string, Run>();
  private readonly dataVersion: Database.Statement;
  private version: unknown;

  constructor(private readonly db: Database.Database) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.version = this.dataVersion.get();
  }

  get(id: string, read: (id: string) => Run | undefined): Run | undefined {
    const version = this.dataVersion.get();
    if (version !== this.version) {
      this.runs.clear();
      this.version = version;
    }
    const hit = this.runs.get(id);
    if (hit) return hit;
    const run = read(id);
    if (!run) return undefined;
    const frozen = freezeRun(run);
    // Inside an open transaction the row may not be committed yet (and may roll back): not kept.
    if (!this.db.inTransaction) {
      if (this.runs.size >= MAX_CACHED) this.runs.clear();
      this.runs.set(id, frozen);
    }
    return frozen;
  }

  /**
   * The run as this connection last read it, without asking the file whether anything changed:
   * only for a caller that confirms it later with `get` (the LLM proxy's reservation does, in its
   * transaction, see store.ts `rememberedRun`).
   */
  peek(id: string): Run | undefined {
    return this.runs.get(id);
  }

  /** Called before this connection writes the run. */
  forget(id: string): void {
    this.runs.delete(id);
  }
}

function freezeRun(run: Run): Run {
  Object.freeze(run.taint.sources);
  Object.freeze(run.taint);
  for (const sources of Object.values(run.read)) Object.freeze(sources);
  Object.freeze(run.read);
  return Object.freeze(run);
}
