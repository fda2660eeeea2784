/**
 * The scrubbers of one gateway: one for every sink (logs, events, API,
 * webhooks) with the default PII rules, and one per profile for tool results
 * going back to agents of that profile (its `pii` actions). A secret learnt at
 * runtime (a run token, the local operator token) reaches all of them, since
 * they share one set of known secrets.
 */
import type { Policy } from '../policy/schema/index.js';
import { createScrubber, type MeasuredScrubber, type Scrubber } from '../scrub/index.js';

export interface Scrubbers {
  /** Every sink's scrubber. */
  readonly sinks: MeasuredScrubber;
  forProfile(profile: string): Scrubber;
}

/** `base`: reuse a running gateway's sink scrubber (a policy reload) instead of making one. */
export function createScrubbers(
  policy: Policy,
  secrets: readonly string[],
  base?: MeasuredScrubber,
): Scrubbers {
  return profileScrubbers(
    policy,
    base ?? createScrubber({ secrets, disableRules: policy.scrub.disable_rules }),
  );
}

function profileScrubbers(policy: Policy, base: MeasuredScrubber): Scrubbers {
  // Each profile's scrubber shares the base automaton and known secrets; only PII actions differ.
  const perProfile = new Map<string, Scrubber>(
    Object.entries(policy.profiles).map(([name, profile]) => [name, base.withPii(profile.pii)]),
  );
  return { sinks: base, forProfile: (profile) => perProfile.get(profile) ?? base };
}
