/** Stored password hashes, crackable offline: each went out bare on bec358b. */
import { describe, it } from 'vitest';
import { expectLeftAlone, expectNoTailInStreams, expectRedacted } from '../../../test/helpers/scrub-cases.js';
import { seeded } from '../../../test/helpers/seeded.js';

const CRYPT = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const crypt = (length: number, seed: number) => seeded(seed).text(CRYPT, length);
const b64 = (length: number, seed: number) =>
  seeded(seed).text('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', length);

describe('a stored password hash', () => {
  const sha512 = `$6$${crypt(16, 141)}$${crypt(86, 142)}`;
  const bcrypt = `$2b$12$${crypt(53, 143)}`;
  const apr1 = `$apr1$${crypt(8, 144)}$${crypt(22, 145)}`;
  const yescrypt = `$y$j9T$${crypt(24, 146)}$${crypt(43, 147)}`;
  const argon2 = `$argon2id$v=19$m=65536,t=3,p=4$${b64(22, 148)}$${b64(43, 149)}`;
  const django = `pbkdf2_sha256$600000$${crypt(22, 150).replace(/[./]/g, 'x')}$${b64(43, 151)}=`;
  expectRedacted({
    "a shadow file's SHA-512 crypt": [`root:${sha512}:19700:0:99999:7:::`, sha512],
    "a shadow file's yescrypt": [`alice:${yescrypt}:19700:0:99999:7:::`, yescrypt],
    "an htpasswd line's apr1": [`admin:${apr1}\n`, apr1],
    "a users table's bcrypt": [`{"id": 7, "email": "a@b.c", "password_digest": "${bcrypt}"}`, bcrypt],
    'an argon2 hash': [`hash = '${argon2}'`, argon2],
    "Django's PBKDF2": [`INSERT INTO auth_user VALUES (1, '${django}', NULL)`, django],
  });
  expectLeftAlone({
    "a shell script's positional arguments": 'echo "$1$2" and cost $5$ each',
    'a price list': 'Coffee $2$ tea $1$',
    'a bcrypt prefix in prose': 'bcrypt hashes start with $2b$ and a cost',
  });
  it('redacts a shadow line cut at every position and in small chunks', () =>
    expectNoTailInStreams(`root:${sha512}:19700:0:99999:7:::\n`, sha512.slice(-12)));
});
