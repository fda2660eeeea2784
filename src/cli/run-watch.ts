/**
 * The kill watcher of `bulkhead run`: a long-poll on `GET /api/runs/:id/ended`
 * that the gateway answers the moment the run is killed or expires, so the
 * process tree ends within milliseconds of the kill instead of at the next
 * poll, and a quiet run costs the gateway one idle request per 25 s. Its
 * dropping tells the gateway to look for this process (the run's `launcher`,
 * runs/launcher-watch.ts): killed with SIGKILL, its run is killed too.
 */
import type { RunEndAnswer } from '../gateway/api-run-end.js';
import type { GatewayClient } from './client.js';

const WAIT_MS = 25_000;
const RETRY_MS = 500;
const STOPPED = new Error('the agent exited');

export interface RunWatch {
  stop(): void;
}

export function watchRunEnd(
  client: GatewayClient,
  runId: string,
  onEnd: (state: 'killed' | 'expired') => void,
): RunWatch {
  const stopper = new AbortController();
  const path = `/api/runs/${encodeURIComponent(runId)}/ended?wait_ms=${WAIT_MS}`;
  void (async () => {
    while (!stopper.signal.aborted) {
      try {
        const answer = await client.get<RunEndAnswer>(path, stopper.signal);
        if (answer.ended && (answer.state === 'killed' || answer.state === 'expired')) {
          onEnd(answer.state);
          return;
        }
        // A run that ended otherwise (completed elsewhere) has no jail to end from here.
        if (answer.state !== 'active' && answer.state !== 'exhausted') return;
      } catch {
        // The gateway may be restarting: try again shortly; the jail's own wall clock still holds.
        if (stopper.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
      }
    }
  })();
  // With a reason of its own: a bare abort() builds a DOMException, whose class node loads on first
  // use (~5 ms of `bulkhead run`'s exit).
  return { stop: () => stopper.abort(STOPPED) };
}
