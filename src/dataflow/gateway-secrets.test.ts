import { describe, expect, it } from 'vitest';
import { createScrubber, PII_KINDS } from '../scrub/index.js';
import { bulkheadRules } from '../scrub/rules/bulkhead.js';
import { carriesGatewaySecret } from './gateway-secrets.js';

const TOKEN = `bhr_${'a1B2c3D4e5'.repeat(4)}xyz`;
const CREDENTIAL = 'canary-upstream-credential-3e9b1f';
// As gateway/scrubbers.ts makes it: the gateway's secrets and bulkhead's token format only.
const scrubber = createScrubber({
  secrets: [CREDENTIAL, TOKEN],
  rules: bulkheadRules,
  pii: Object.fromEntries(PII_KINDS.map((kind) => [kind, 'allow'])),
});
const carries = (value: unknown) => carriesGatewaySecret(value, scrubber.text);

describe("the gateway's secrets in what an agent sends", () => {
  it('finds a configured credential and a bulkhead token, raw or encoded, at any depth', () => {
    expect(carries({ a: { b: [`x ${CREDENTIAL}`] } })).toBe(true);
    expect(carries({ a: Buffer.from(CREDENTIAL).toString('base64') })).toBe(true);
    expect(carries({ note: `use ${TOKEN}` })).toBe(true);
    expect(carries({ note: Buffer.from(`token=${TOKEN}`).toString('base64') })).toBe(true);
    expect(carries({ note: `bhr_${'Q'.repeat(43)}` })).toBe(true);
  });

  it('finds one in an object key', () => {
    expect(carries({ [CREDENTIAL]: 1 })).toBe(true);
  });

  it('finds one written in look-alike letters', () => {
    expect(carries({ a: CREDENTIAL.replace(/a/g, '\u0430').replace(/e/g, '\u0435') })).toBe(true);
  });

  it('finds one cut across neighbouring arguments', () => {
    expect(carries({ a: CREDENTIAL.slice(0, 10), b: CREDENTIAL.slice(10) })).toBe(true);
  });

  it('passes ordinary arguments, and a marker the agent wrote itself', () => {
    expect(carries({ id: 'order-17', note: 'already [REDACTED:secret] upstream' })).toBe(false);
  });

  it('does not count personal data or other credentials as the gateway’s', () => {
    expect(carries({ card: '4111 1111 1111 1111', key: 'ghp_R2a9xQ7mLk3VbN8pT4sZ1wY6uE0cJ5dHf9Gt' })).toBe(
      false,
    );
  });
});
