/**
 * Private keys written without PEM armour, which the `pem-private-key` rule needs: a JSON Web Key
 * (an OIDC provider's signing key, `jose` output, a `JWT_PRIVATE_KEY` env value), and the base64 of
 * a DER private key as key stores and env values keep it (`MIIEvQIBADANBgkqhkiG9w0BAQEFAASC…`).
 * Each went out bare. The DER rules are anchored on the fixed bytes of each structure (its version
 * and algorithm), so base64 that is not a private key never starts one.
 */
import type { SecretRule } from './types.js';

/** A JWK's private members: `d` (EC, OKP, RSA), and RSA's primes and CRT values. */
const JWK_PRIVATE = '(?:d|p|q|dp|dq|qi)';
const B64URL = '[A-Za-z0-9_-]';
/** Base64 of a key body, as stored: maybe wrapped in lines. */
const B64_BODY = '[A-Za-z0-9+/=\\s]';

export const keyMaterialRules: readonly SecretRule[] = [
  {
    id: 'jwk-private-key',
    spaces: true,
    description: 'the private members of a JSON Web Key ("d", and RSA\'s "p", "q", "dp", "dq", "qi")',
    anchors: ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"'],
    // Only in an object that has a `kty` (before the member, as jose and node write it, or after).
    pattern: `"${JWK_PRIVATE}"[ \\t]{0,4}:[ \\t]{0,4}"(?:(?<="kty"[^{}]{0,2400}"${JWK_PRIVATE}"[ \\t]{0,4}:[ \\t]{0,4}")|(?=${B64URL}{16,1400}"[^{}]{0,2400}"kty"))(${B64URL}{16,1400})`,
    group: 1,
    maxLength: 4000,
    contextBefore: 2450,
  },
  {
    id: 'der-private-key',
    spaces: true,
    description:
      'the base64 of a DER private key without PEM armour (PKCS#8 EC and Ed25519, SEC1 EC, OpenSSH)',
    anchors: [
      'MC4CAQAwBQYDK2Vw',
      'MIGHAgEAMBMGByqGSM49',
      'MIG2AgEAMBAGByqGSM49',
      'MHcCAQEEI',
      'MIGkAgEBBD',
      'b3BlbnNzaC1rZXktdjE',
    ],
    pattern: `(?<![A-Za-z0-9+/])(?:MC4CAQAwBQYDK2Vw${B64_BODY}{40,60}|MIG[H2]AgEAMB[MA]GByqGSM49${B64_BODY}{90,260}|MHcCAQEEI${B64_BODY}{100,200}|MIGkAgEBBD${B64_BODY}{150,240}|b3BlbnNzaC1rZXktdjE${B64_BODY}{100,7000})`,
    maxLength: 7100,
  },
  {
    id: 'der-rsa-private-key',
    spaces: true,
    description: 'the base64 of a DER RSA private key without PEM armour (PKCS#8, PKCS#1)',
    anchors: ['IBADANBgkqhkiG9w0BAQEFAAS', 'IBAAKCAQEA', 'IBAAKCAYEA', 'IBAAKCAgEA'],
    // The structure starts with its length (`MIIEvQ`, `MIIJQw`): six characters before the anchor.
    before: 6,
    beforeChar: /[A-Za-z0-9+/]/,
    pattern: `(?<![A-Za-z0-9+/])MII[A-Za-z0-9+/]{3}IBA(?:DANBgkqhkiG9w0BAQEFAAS|AKCA[QYg]EA)${B64_BODY}{500,7000}`,
    maxLength: 7100,
  },
];
