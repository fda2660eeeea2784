/**
 * Credentials a URL carries in its query or fragment under a name too short or too common to be
 * a secret name anywhere else: a presigned URL's signature (`X-Amz-Signature`,
 * `X-Goog-Signature`, CloudFront's `Signature`: whoever holds the URL reads or writes the object
 * until it expires), an API `key=`, an OAuth `code=`, `auth=`, `session=`, `sig=`. Only after `?`,
 * `&` or `#` (a URL's own parameters), and only a value random enough that is not words joined
 * by dashes (`?key=orders-list-2024`). Each went out bare on 50d3922.
 */
import { looksLikeSecretValue } from './generic.js';
import type { SecretRule } from './types.js';

/** Parameter names, as URLs spell them (case is folded). */
const NAMES = ['signature', 'sig', 'key', 'code', 'auth', 'session', 'sessionid', 'sid', 'ticket'];

/** Words joined by separators, digits at most in their last: a slug, not a key. */
const SLUG = /^[A-Za-z]+(?:[-_.][A-Za-z]+)*(?:[-_.][0-9]+)?$/;

export const urlParameterRules: readonly SecretRule[] = [
  {
    id: 'url-parameter-credential',
    description:
      "a credential in a URL's parameters (X-Amz-Signature, X-Goog-Signature, CloudFront Signature, key=, code=, auth=, session=)",
    anchors: NAMES.flatMap((name) => [`?${name}=`, `&${name}=`, `#${name}=`, `-${name}=`]),
    anyCase: true,
    // `-signature=` only as a presigned URL's `X-Amz-`/`X-Goog-` parameter.
    pattern: `(?:[?&#](?:${NAMES.join('|')})|(?<=[?&]x-(?:amz|goog))-signature)=([A-Za-z0-9%._~+/=-]{16,2048})`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 3.5) && !SLUG.test(value),
    maxLength: 2100,
  },
];
