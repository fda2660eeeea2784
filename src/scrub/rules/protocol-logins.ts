/**
 * A client's login in a text protocol's own words, as `curl -v`, `openssl s_client`, `redis-cli`
 * and mail-server logs show a session: FTP and POP3 `PASS`, IMAP `LOGIN`, Redis `AUTH`, SASL
 * `AUTH PLAIN` and the line after `AUTH LOGIN`'s password prompt. An agent debugging a mail or
 * cache server reads these, and each went out bare. The verbs are matched as clients send them
 * (upper case), at a line's start or after a transcript's direction mark.
 */
import { looksLikeSecretValue } from './generic.js';
import type { SecretRule } from './types.js';

/** Before a client's line in a transcript: nothing, `> ` (curl -v), `C: `, `--> `, a redis-cli prompt. */
const LINE_PREFIX = '(?:^|[\\r\\n])(?:[<>] |C: |--> |>>> |[A-Za-z0-9.:]{1,40}> )?';
const LINE_START = `(?<=${LINE_PREFIX})`;

/** The rest of a line after a value: the value must end it (checked before the value is read). */
const LINE_REST = '[ \\t]{0,4}(?:\\r?\\n|$)';
const LINE_VALUE = `(?=[^\\s]{4,256}${LINE_REST})([^\\s]{4,256})`;

/** SASL PLAIN's message is `authzid NUL authcid NUL password`, in base64. */
function holdsSaslPlain(value: string): boolean {
  return Buffer.from(value, 'base64').includes(0);
}

/**
 * A test runner's `PASS path/to/file.test.ts` (jest, and pytest ids after `::`): a file name with
 * an extension, not a password.
 */
const TEST_FILE = /^[\w./\\:[\]-]+\.[a-z]{1,5}(?:::[^\s]*)?$/i;

export const protocolLoginRules: readonly SecretRule[] = [
  {
    id: 'protocol-pass-command',
    spaces: true,
    spacesWithin: 8,
    description: "a password in FTP's or POP3's PASS command",
    anchors: ['PASS '],
    pattern: `${LINE_START}PASS ${LINE_VALUE}`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2) && !TEST_FILE.test(value),
    contextBefore: 50,
  },
  {
    id: 'imap-login-command',
    spaces: true,
    spacesWithin: 200,
    description: "a password in IMAP's LOGIN command (tag LOGIN user password)",
    // Not ` LOGIN `: an anchor that starts with a space would make a stream hold every trailing space.
    anchors: ['LOGIN '],
    pattern: `(?<=${LINE_PREFIX}[A-Za-z0-9.]{1,20} )LOGIN (?:"[^"\\r\\n]{1,128}"|[^\\s"]{1,128}) "?(?=[^\\s"]{4,256}"?${LINE_REST})([^\\s"]{4,256})`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2),
    contextBefore: 70,
  },
  {
    id: 'redis-auth-command',
    spaces: true,
    spacesWithin: 80,
    description: "a password in Redis' AUTH command (AUTH password, AUTH user password)",
    anchors: ['AUTH '],
    // Not SASL's mechanisms: `AUTH PLAIN` is read by its own rule, `AUTH LOGIN` sends no secret.
    pattern: `${LINE_START}AUTH (?!(?:PLAIN|LOGIN|CRAM-MD5|XOAUTH2?|OAUTHBEARER|SCRAM-[A-Z0-9-]{1,20})\\b)(?:[^\\s]{1,64} )?${LINE_VALUE}`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2),
    contextBefore: 50,
  },
  {
    id: 'sasl-plain-response',
    spaces: true,
    spacesWithin: 20,
    description: 'a login in SASL PLAIN (AUTH PLAIN base64 of user and password)',
    anchors: ['AUTH PLAIN ', 'AUTHENTICATE PLAIN '],
    pattern: 'AUTH(?:ENTICATE)? PLAIN ([A-Za-z0-9+/]{8,1024}={0,2})',
    group: 1,
    accept: holdsSaslPlain,
    maxLength: 1050,
  },
  {
    id: 'sasl-login-password',
    spaces: true,
    spacesWithin: 24,
    description: "the password a client sends after SASL LOGIN's prompt (334 base64 of Password:)",
    // `UGFzc3dvcmQ6` is base64 of `Password:`, `cGFzc3dvcmQ6` of `password:`.
    anchors: ['UGFzc3dvcmQ6', 'cGFzc3dvcmQ6'],
    pattern:
      '(?:UGFzc3dvcmQ6|cGFzc3dvcmQ6)[ \\t]{0,4}\\r?\\n(?:[<>] |C: |--> )?([A-Za-z0-9+/]{4,1024}={0,2})',
    group: 1,
    maxLength: 1060,
  },
];
