/**
 * The scrubbers of one gateway: one for every sink (logs, events, API,
 * webhooks) with the default PII rules, and one per profile for tool results
 * going back to agents of that profile (its `pii` actions). A secret learnt at
 * runtime (a run token, the local operator token) reaches all of them.
 */
import type { Policy } from '../policy/schema/index.js';
import { createScrubber, type Scrubber } from '../scrub/index.js';

export interface Scrubbers {
  /** Every sink's scrubber. */
  readonly sinks: Scrubber;
  forProfile(profile: string): Scrubber;
}

export function createScrubbers(policy: Policy, secrets: readonly string[]): Scrubbers {
  const disableRules = policy.scrub.disable_rules;
  const known = [...secrets];
  const base = createScrubber({ secrets: known, disableRules });
  const perProfile = new Map<string, Scrubber>();
  for (const [name, profile] of Object.entries(policy.profiles)) {
    perProfile.set(name, createScrubber({ secrets: known, disableRules, pii: profile.pii }));
  }
  const sinks: Scrubber = {
    text: base.text,
    value: base.value,
    stream: base.stream,
    addSecrets(values) {
      const list = [...values];
      base.addSecrets(list);
      for (const scrubber of perProfile.values()) scrubber.addSecrets(list);
    },
  };
  return { sinks, forProfile: (profile) => perProfile.get(profile) ?? sinks };
}
