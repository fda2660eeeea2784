/**
 * Stage 3, scope: a tool outside the run's profile does not exist for it.
 * Lookup is by exact exposed name: case variants, the upstream's original
 * name and prefixes all miss, and the refusal does not reveal whether a
 * hidden tool exists.
 */
import { denial } from '../errors.js';
import type { Catalog } from '../gateway/catalog.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export function scopeStage(deps: {
  catalog: Catalog;
  /** True when the upstream behind a profile's tool is not serving (down since start, or restarting). */
  upstreamDown?: (exposedName: string) => boolean;
}): Stage {
  return (call) => {
    const inProfile = typeof call.name === 'string' && call.profile.tools.includes(call.name);
    const tool = inProfile ? deps.catalog.get(call.name) : undefined;
    if (!tool) {
      // A tool the run may use whose upstream never listed it (down at start): say so, rather than
      // "no such tool". The run's own profile names it, so this reveals nothing hidden.
      if (inProfile && deps.upstreamDown?.(call.name)) {
        return deny(
          denial('upstream_unavailable', 'The service behind this tool is unavailable; try again later.'),
        );
      }
      return deny(denial('tool_not_in_scope', 'No tool with that name is available to this run.'));
    }
    call.tool = tool;
    return CONTINUE;
  };
}
