/**
 * `GET /api/runs/:id/ended?wait_ms=N`: a long-poll that answers the moment a
 * run is killed or expires (or at once, if it already has), so the jail
 * beside the agent (`bulkhead run`) ends the process tree without polling.
 *
 * It costs one store read per request and then only a listener on the run's
 * AbortSignal, which a kill or expiry fires in this gateway and which the
 * run service's replica watcher fires for a kill made through another one.
 * A completed or exhausted run does not end a jail (the agent itself ended
 * it, or its in-flight calls were within budget), so the poll keeps waiting.
 *
 * A poll that drops before its answer, for a run its launcher recorded
 * itself on, has the gateway look for that launcher at once
 * (runs/launcher-watch.ts): `bulkhead run` killed with SIGKILL leaves its run
 * killed within moments, not active until its wall clock runs out.
 */
import type { Context } from 'hono';
import { BulkheadError } from '../errors.js';
import type { RunService } from '../runs/service.js';

export const MAX_WAIT_MS = 60_000;

export interface RunEndAnswer {
  /** `killed` or `expired` once the jail should end; otherwise the run's state when the wait ran out. */
  state: string;
  ended: boolean;
}

export async function waitForRunEnd(
  runs: RunService,
  id: string,
  waitMs: number,
  gone: AbortSignal,
): Promise<RunEndAnswer> {
  const run = await runs.get(id);
  if (!run) throw new BulkheadError('not_found', 'No run with that id.');
  if (run.state === 'killed' || run.state === 'expired') return { state: run.state, ended: true };
  const signal = runs.signal(id);
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      gone.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    signal.addEventListener('abort', done, { once: true });
    gone.addEventListener('abort', done, { once: true });
    if (signal.aborted || gone.aborted) done();
  });
  if (gone.aborted) runs.launchers.dropped(run);
  const now = await runs.get(id);
  const state = now?.state ?? run.state;
  return { state, ended: state === 'killed' || state === 'expired' };
}

export function parseWait(c: Context): number {
  const raw = c.req.query('wait_ms');
  if (raw === undefined) return 25_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_WAIT_MS)
    throw new BulkheadError('bad_request', `wait_ms must be an integer from 0 to ${MAX_WAIT_MS}`);
  return n;
}
