/**
 * The scrubbers of one gateway: one for every sink (logs, events, API,
 * webhooks) with the default PII rules, and one per profile for tool results
 * going back to agents of that profile (its `pii` actions). A secret learnt at
 * runtime (a run token, the local operator token) reaches all of them, since
 * they share one set of known secrets.
 *
 * And one that finds the gateway's own secrets only (the known ones and
 * bulkhead's token format, no other rule, no PII), for what an agent sends
 * out (dataflow/gateway-secrets.ts): with every rule, one that matched first
 * (`token=` before a run token, in base64) hid which secret it was. It learns
 * each secret the sinks' scrubber learns.
 */
import type { Policy } from '../policy/schema/index.js';
import { createScrubber, type MeasuredScrubber, PII_KINDS, type Scrubber } from '../scrub/index.js';
import { bulkheadRules } from '../scrub/rules/bulkhead.js';

export interface Scrubbers {
  /** Every sink's scrubber. */
  readonly sinks: MeasuredScrubber;
  forProfile(profile: string): Scrubber;
  /** Marks the gateway's own secrets and nothing else. */
  readonly gatewaySecrets: Scrubber;
}

const detectors = new WeakMap<MeasuredScrubber, Scrubber>();

/** `base`: reuse a running gateway's sink scrubber (a policy reload) instead of making one. */
export function createScrubbers(
  policy: Policy,
  secrets: readonly string[],
  base?: MeasuredScrubber,
): Scrubbers {
  return profileScrubbers(
    policy,
    base ?? withDetector(createScrubber({ secrets, disableRules: policy.scrub.disable_rules }), secrets),
  );
}

/** `sinks`, teaching every secret it learns to a detector of the gateway's own secrets. */
function withDetector(sinks: MeasuredScrubber, secrets: readonly string[]): MeasuredScrubber {
  const detector = createScrubber({
    secrets,
    rules: bulkheadRules,
    pii: Object.fromEntries(PII_KINDS.map((kind) => [kind, 'allow'])),
  });
  const learn = sinks.addSecrets.bind(sinks);
  sinks.addSecrets = (values) => {
    const list = [...values];
    learn(list);
    detector.addSecrets(list);
  };
  const forget = sinks.forgetSecrets.bind(sinks);
  sinks.forgetSecrets = (values) => {
    const list = [...values];
    forget(list);
    detector.forgetSecrets(list);
  };
  detectors.set(sinks, detector);
  return sinks;
}

function profileScrubbers(policy: Policy, base: MeasuredScrubber): Scrubbers {
  // Each profile's scrubber shares the base automaton and known secrets; only PII actions differ.
  const perProfile = new Map<string, Scrubber>(
    Object.entries(policy.profiles).map(([name, profile]) => [name, base.withPii(profile.pii)]),
  );
  // Always found: a reload passes the sinks' scrubber made here. The sinks' own is a fallback only.
  const gatewaySecrets = detectors.get(base) ?? base;
  return { sinks: base, forProfile: (profile) => perProfile.get(profile) ?? base, gatewaySecrets };
}
