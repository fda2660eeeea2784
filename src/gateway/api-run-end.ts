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
 * With `launcher=TAG` (its pid namespace, pid and start time: `launcherTag`,
 * runtime-folder.ts) the poll is also the launcher's lifeline. A launcher
 * killed with SIGKILL (or by the OOM killer) never reports its run's end, and
 * the run stayed active, its token valid, until its wall clock ran out. When
 * such a poll's connection closes before its answer, the gateway looks for the
 * launcher's process for a few seconds (it may still be exiting): gone, and the
 * run is killed. Only what the gateway can see for itself counts: a launcher in
 * another pid namespace or on another host is never judged gone, so a dropped
 * connection alone never ends a run, whichever replica the launcher polls next.
 */
import type { Context } from 'hono';
import { BulkheadError } from '../errors.js';
import type { RunService } from '../runs/service.js';
import { launcherGone } from '../sandbox/runtime-folder.js';

export const MAX_WAIT_MS = 60_000;

export interface RunEndAnswer {
  /** `killed` or `expired` once the jail should end; otherwise the run's state when the wait ran out. */
  state: string;
  ended: boolean;
}

/** A launcher as `launcherTag` names it. */
const LAUNCHER_TAG = /^o\d{1,20}\.\d{1,10}\.\d{1,20}$/;
/** When the launcher is looked for after its lifeline closed (ms): its exit may not be complete yet. */
const LAUNCHER_CHECKS_MS = [0, 50, 200, 500, 1_000, 2_000];

export async function waitForRunEnd(
  runs: RunService,
  id: string,
  waitMs: number,
  gone: AbortSignal,
  launcher?: string,
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
  if (launcher !== undefined && gone.aborted) endWithLauncher(runs, id, launcher);
  const now = await runs.get(id);
  const state = now?.state ?? run.state;
  return { state, ended: state === 'killed' || state === 'expired' };
}

/** Kills run `id` if the launcher named by `tag` turns out to be gone (see the file's comment). */
function endWithLauncher(runs: RunService, id: string, tag: string, check = 0): void {
  const delay = LAUNCHER_CHECKS_MS[check];
  if (delay === undefined) return;
  setTimeout(() => {
    if (!launcherGone(tag)) return endWithLauncher(runs, id, tag, check + 1);
    runs.killInBackground(
      id,
      `its launcher (bulkhead run, pid ${tag.split('.')[1]}) died without ending the run`,
    );
  }, delay).unref();
}

/** The `launcher` query parameter, if given. */
export function parseLauncher(c: Context): string | undefined {
  const raw = c.req.query('launcher');
  if (raw === undefined) return undefined;
  if (!LAUNCHER_TAG.test(raw))
    throw new BulkheadError(
      'bad_request',
      'launcher must name a process as o<pid namespace>.<pid>.<start time>',
    );
  return raw;
}

export function parseWait(c: Context): number {
  const raw = c.req.query('wait_ms');
  if (raw === undefined) return 25_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_WAIT_MS)
    throw new BulkheadError('bad_request', `wait_ms must be an integer from 0 to ${MAX_WAIT_MS}`);
  return n;
}
