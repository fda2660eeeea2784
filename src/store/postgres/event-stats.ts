import type { Pool } from 'pg';
import type { DecisionKind } from '../../events/event.js';
import { countsByRun, denseHistogram, type EventStats } from '../../events/stats.js';

export function pgEventStats(pool: Pool): EventStats {
  return {
    async decisionsByRun(runIds) {
      if (runIds.length === 0) return new Map();
      const { rows } = await pool.query<{ run_id: string; decision: DecisionKind | null; n: string }>(
        `SELECT run_id, decision, count(*) AS n FROM events
         WHERE kind = 'tools/call' AND run_id = ANY($1::text[]) GROUP BY run_id, decision`,
        [runIds],
      );
      return countsByRun(rows);
    },
    async callHistogram({ since, bucketMs, buckets, runId }) {
      const { rows } = await pool.query<{ bucket: string; decision: DecisionKind | null; n: string }>(
        `SELECT floor((at - $1) / $2)::int AS bucket, decision, count(*) AS n FROM events
         WHERE kind = 'tools/call' AND at >= $1 AND at < $3 AND ($4::text IS NULL OR run_id = $4)
         GROUP BY bucket, decision`,
        [since, bucketMs, since + bucketMs * buckets, runId ?? null],
      );
      return denseHistogram(rows, { since, bucketMs, buckets });
    },
  };
}
