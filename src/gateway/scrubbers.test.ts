/**
 * A gateway's scrubbers share what they know at run time: a secret learnt or forgotten through
 * the sinks' scrubber is learnt or forgotten by every profile's and by the gateway-secrets
 * detector (what an agent sends out is read with that one).
 */
import { describe, expect, it } from 'vitest';
import { ONE_PROFILE_POLICY } from '../../test/helpers/run-service.js';
import { REDACTED_SECRET } from '../scrub/index.js';
import { createScrubbers } from './scrubbers.js';

const SECRET = 'zq-minted-for-a-run-4471-k8';

describe('createScrubbers', () => {
  it('teaches a secret the sinks learn to every profile and to the gateway-secrets detector', () => {
    const scrubbers = createScrubbers(ONE_PROFILE_POLICY, []);

    scrubbers.sinks.addSecrets([SECRET]);

    expect(scrubbers.forProfile('agent').text(SECRET)).toBe(REDACTED_SECRET);
    expect(scrubbers.gatewaySecrets.text(SECRET)).toBe(REDACTED_SECRET);
  });

  it('lets every profile and the gateway-secrets detector forget what the sinks forget', () => {
    const scrubbers = createScrubbers(ONE_PROFILE_POLICY, []);
    scrubbers.sinks.addSecrets([SECRET]);

    scrubbers.sinks.forgetSecrets([SECRET]);

    expect(scrubbers.forProfile('agent').text(SECRET)).toBe(SECRET);
    expect(scrubbers.gatewaySecrets.text(SECRET)).toBe(SECRET);
  });
});
