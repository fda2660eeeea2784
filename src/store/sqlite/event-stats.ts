import type Database from 'better-sqlite3';
import type { DecisionKind } from '../../events/event.js';
import { countsByRun, denseHistogram, type EventStats } from '../../events/stats.js';

export function sqliteEventStats(db: Database.Database): EventStats {
  const histogram = db.prepare(
    `SELECT CAST((at - @since) / @bucketMs AS INTEGER) AS bucket, decision, count(*) AS n FROM events
     WHERE kind = 'tools/call' AND at >= @since AND at < @until AND (@runId IS NULL OR run_id = @runId)
     GROUP BY bucket, decision`,
  );
  return {
    async decisionsByRun(runIds) {
      if (runIds.length === 0) return new Map();
      const rows = db
        .prepare(
          `SELECT run_id, decision, count(*) AS n FROM events
           WHERE kind = 'tools/call' AND run_id IN (${runIds.map(() => '?').join(',')})
           GROUP BY run_id, decision`,
        )
        .all(...runIds) as { run_id: string; decision: DecisionKind | null; n: number }[];
      return countsByRun(rows);
    },
    async callHistogram({ since, bucketMs, buckets, runId }) {
      const rows = histogram.all({
        since,
        bucketMs,
        until: since + bucketMs * buckets,
        runId: runId ?? null,
      }) as {
        bucket: number;
        decision: DecisionKind | null;
        n: number;
      }[];
      return denseHistogram(rows, { since, bucketMs, buckets });
    },
  };
}
