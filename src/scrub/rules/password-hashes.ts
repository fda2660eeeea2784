/**
 * Password hashes in the formats systems store them in: a shadow file's `$6$…`, an htpasswd
 * line's `$apr1$…`, a users table's bcrypt `$2b$12$…`, argon2 and Django's PBKDF2. A hash is no
 * password, but a leaked one is cracked offline at leisure (a weak password in minutes), so an
 * agent's tool output of `/etc/shadow`, an `.htpasswd` or a dump of a users table is credential
 * material. Each went out bare on bec358b. Matched by each format's exact shape (its prefix, its
 * salt's and digest's alphabet and length), so `$1` in a shell script is not one.
 */
import type { SecretRule } from './types.js';

/** crypt(3)'s alphabet. */
const C = '[./A-Za-z0-9]';
const B64 = '[A-Za-z0-9+/]';

const SHAPES = [
  `\\$2[abxy]\\$[0-9]{2}\\$${C}{53}`,
  `\\$[56]\\$(?:rounds=[0-9]{1,9}\\$)?${C}{1,16}\\$(?:${C}{86}|${C}{43})`,
  `\\$(?:1|apr1)\\$${C}{1,8}\\$${C}{22}`,
  `\\$g?y\\$${C}{1,32}\\$${C}{1,64}\\$${C}{43}`,
  `\\$argon2(?:id|i|d)\\$v=[0-9]{1,3}\\$m=[0-9]{1,9},t=[0-9]{1,4},p=[0-9]{1,3}\\$${B64}{11,88}\\$${B64}{16,128}`,
  `pbkdf2_sha(?:1|256)\\$[0-9]{1,9}\\$[A-Za-z0-9]{4,64}\\$${B64}{20,88}={0,2}`,
];

export const passwordHashRules: readonly SecretRule[] = [
  {
    id: 'password-hash',
    description: 'a stored password hash (crypt $6$/$5$/$1$/$apr1$/$y$, bcrypt, argon2, Django PBKDF2)',
    anchors: [
      '$2a$',
      '$2b$',
      '$2x$',
      '$2y$',
      '$6$',
      '$5$',
      '$1$',
      '$apr1$',
      '$y$',
      '$gy$',
      '$argon2',
      'pbkdf2_sha',
    ],
    pattern: `(?<![A-Za-z0-9_$])(?:${SHAPES.join('|')})(?![./A-Za-z0-9+=])`,
  },
];
