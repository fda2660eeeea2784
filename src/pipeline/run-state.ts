/**
 * Stage 2, run state: a killed, expired or exhausted run gets nothing more.
 * The run is read fresh for every call, so a kill takes effect on the next one.
 */
import { denial } from '../errors.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export function runStateStage(deps: { now: () => number }): Stage {
  return (call) => {
    if (call.run.state !== 'active' || call.run.expiresAt <= deps.now() || call.signal.aborted) {
      return deny(runEnded());
    }
    return CONTINUE;
  };
}

/** What a call of a killed, expired or exhausted run is told. */
export function runEnded() {
  return denial('run_not_active', 'This run has ended; no further tool calls are accepted.');
}
