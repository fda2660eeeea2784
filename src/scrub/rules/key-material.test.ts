/**
 * Private keys an agent reads without PEM armour: JSON Web Keys (an OIDC provider's signing key,
 * `jose` output, a key in an env value) and the base64 of DER keys as key stores keep them. Real
 * keys, made here by node:crypto. Each went out bare before rules/key-material.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectLeftAlone } from '../../../test/helpers/scrub-cases.js';
import { createScrubber } from '../index.js';

const scrubber = createScrubber();

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');

/** A JWK's private members, as they come out of node:crypto. */
function privateMembers(jwk: Record<string, unknown>): string[] {
  return ['d', 'p', 'q', 'dp', 'dq', 'qi']
    .map((k) => jwk[k])
    .filter((v): v is string => typeof v === 'string');
}

function expectNoneLeft(text: string, secrets: readonly string[]): void {
  const out = scrubber.text(text);
  for (const secret of secrets) expect(out).not.toContain(secret);
}

describe('JSON Web Keys', () => {
  const keys = {
    'an RSA key': rsa.privateKey.export({ format: 'jwk' }),
    'an EC key': ec.privateKey.export({ format: 'jwk' }),
    'an Ed25519 key': ed.privateKey.export({ format: 'jwk' }),
  } as const;
  for (const [name, jwk] of Object.entries(keys)) {
    it(`redacts every private member of ${name}`, () => {
      expectNoneLeft(JSON.stringify(jwk), privateMembers(jwk));
    });
    it(`redacts ${name} pretty-printed in a key set, kty after the members`, () => {
      const { kty, ...rest } = jwk;
      expectNoneLeft(JSON.stringify({ keys: [{ ...rest, kid: 'k1', kty }] }, null, 2), privateMembers(jwk));
    });
  }
  it('redacts a key in an env value', () => {
    const jwk = ec.privateKey.export({ format: 'jwk' });
    expectNoneLeft(`JWT_SIGNING_KEY='${JSON.stringify(jwk)}'`, privateMembers(jwk));
  });
  expectLeftAlone({
    'a public key set': JSON.stringify({
      keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }],
    }),
    "a member named d that is no key's":
      '{"d": "2026-12-02T10:00:00Z", "p": "page-2", "q": "search terms here"}',
  });
});

describe('DER private keys in base64', () => {
  const der = (key: typeof rsa.privateKey, type: 'pkcs8' | 'pkcs1' | 'sec1') =>
    key.export({ format: 'der', type } as never).toString('base64');
  const cases = {
    'PKCS#8 RSA': der(rsa.privateKey, 'pkcs8'),
    'PKCS#1 RSA': der(rsa.privateKey, 'pkcs1'),
    'PKCS#8 EC P-256': der(ec.privateKey, 'pkcs8'),
    'PKCS#8 EC P-384': der(ec384.privateKey, 'pkcs8'),
    'SEC1 EC P-256': der(ec.privateKey, 'sec1'),
    'SEC1 EC P-384': der(ec384.privateKey, 'sec1'),
    'PKCS#8 Ed25519': der(ed.privateKey, 'pkcs8'),
  };
  for (const [name, body] of Object.entries(cases)) {
    it(`redacts ${name} in JSON`, () => {
      expect(scrubber.text(`{"signing": "${body}"}`)).not.toContain(body.slice(-24));
    });
    it(`redacts ${name} wrapped in lines of 64`, () => {
      const wrapped = body.replace(/.{64}/g, '$&\n');
      // Key material as it stands in the wrapped text: the end of its last line of 16 or more.
      const tail = wrapped
        .split('\n')
        .filter((line) => line.length >= 16)
        .at(-1)!
        .slice(-16);
      const text = `key:\n${wrapped}\n`;
      expect(text).toContain(tail);
      expect(scrubber.text(text)).not.toContain(tail);
    });
  }
  expectLeftAlone({
    'a public key (SPKI)': rsa.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    'an EC public key (SPKI)': ec.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  });
});
