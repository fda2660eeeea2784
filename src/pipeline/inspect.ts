/**
 * Stage 9, inspect output: tool output is untrusted data. Every known secret
 * is scrubbed from the result before the agent sees it, whatever the upstream
 * put there (its own credential in an error, a token in a row).
 */
import type { Scrubber } from '../scrub/index.js';
import { CONTINUE, type Stage } from './stage.js';

export function inspectStage(deps: { scrubber: Scrubber }): Stage {
  return async (call) => {
    if (call.result) call.result = deps.scrubber.value(call.result);
    return CONTINUE;
  };
}
