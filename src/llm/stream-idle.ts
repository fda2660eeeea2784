/**
 * A streamed answer that stops arriving, or dribbles bytes that never make a whole event, held its
 * reservation and the agent's connection for as long as the run lived. The APIs send a `ping`
 * event every few seconds while they work, so a stream with no whole event for `stream_idle_s`
 * (policy `llm:`, default 300) is cut as a lost connection is: charged what was reported or
 * visibly generated, the agent told the stream failed, the `llm.request` event's code
 * `upstream_stalled`. The same limit holds from the request sent to the answer's headers.
 */
import type { RequestCancel } from './signals.js';

export class StalledAnswer extends Error {
  readonly code = 'upstream_stalled';
  constructor(idleS: number) {
    super(`the LLM API sent nothing whole for ${idleS} s`);
  }
}

export interface IdleGuard {
  /** A whole event went on to the agent: the wait starts again. */
  alive(): void;
  stop(): void;
}

/** Cancels `request` with a StalledAnswer once `alive` has not been called for `idleS` seconds. */
export function idleGuard(request: RequestCancel, idleS: number): IdleGuard {
  const timer = setTimeout(() => request.cancel(new StalledAnswer(idleS)), idleS * 1000);
  // The guard alone never keeps the process up.
  timer.unref();
  return {
    alive: () => timer.refresh(),
    stop: () => clearTimeout(timer),
  };
}
