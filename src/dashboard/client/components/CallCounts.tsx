/**
 * A run's tool calls by decision. Refusals are what an operator must see
 * first: a run that keeps hitting the policy is probing it, whatever its taint.
 */
import type { RunView } from '../types.js';

export function CallCounts({ calls }: { calls: RunView['calls'] }) {
  const total = calls.allow + calls.deny + calls.hold;
  return (
    <span class="call-counts" data-refused={calls.deny}>
      <span>
        {total} call{total === 1 ? '' : 's'}
      </span>
      {calls.deny > 0 ? <span class="badge badge-bad">{calls.deny} refused</span> : null}
      {calls.hold > 0 ? <span class="badge badge-warn">{calls.hold} held</span> : null}
    </span>
  );
}
