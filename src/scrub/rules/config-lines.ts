/**
 * Credentials in line-oriented files, where a line's shape, not a separator, says what the value
 * is: a directive and its value on a line of their own (`password …` in msmtp and fetchmail,
 * `requirepass …` in Redis), and a .pgpass record (`host:port:database:user:password`). An agent
 * reads such files with a shell or a file tool, and each went out bare: no `=` or `:` follows
 * the name. Gated by entropy as the assignment rule is: a heading (`Password requirements`) or a
 * `${VAR}` stays.
 */
import { SECRET_NAME } from './config-shapes.js';
import { looksLikeSecretValue } from './generic.js';
import type { SecretRule } from './types.js';

/** Directives whose value is a secret, as the files spell them (case is folded). */
const DIRECTIVES = ['password', 'passwd', 'passphrase', 'secret', 'requirepass', 'masterauth'];

/** Ports a .pgpass line names, in its second field: PostgreSQL's, pgbouncer's, or any (`*`). */
const PGPASS_PORTS = ['5432', '5433', '6432', '*'];
const PGPASS_PORT = `(?:${PGPASS_PORTS.map((port) => port.replace('*', '\\*')).join('|')})`;

const UNESCAPED_COLON = /(?<!\\):/;

export const configLineRules: readonly SecretRule[] = [
  {
    id: 'yaml-anchored-secret',
    spaces: true,
    spacesWithin: 40,
    description: 'a secret setting whose value carries a YAML anchor (password: &db_pw …, docker-compose)',
    anchors: [': &'],
    anyCase: true,
    // From the anchor mark, the setting's name read back: the assignment rule's value starts at `&`.
    pattern: `(?<=${SECRET_NAME}[A-Za-z0-9_.-]{0,24}["']?): &[A-Za-z0-9_-]{1,32}[ \\t]{1,4}["']?([^\\s"'\`<>&;,)\\]}]{8,256})`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value),
    contextBefore: 60,
  },
  {
    id: 'config-directive',
    spaces: true,
    spacesWithin: 20,
    description: 'a secret directive and its value alone on a line (msmtp, fetchmail, Redis requirepass)',
    anchors: DIRECTIVES.flatMap((name) => [`${name} `, `${name}\t`]),
    anyCase: true,
    // The value and the line's end are checked first (prose goes on after its second word), then
    // the name's line read back: only spaces and the name's own prefix (`smtp_password`) before it.
    pattern: `(?:${DIRECTIVES.join('|')})[ \\t]{1,4}(?=["']?[^\\s"'\`]{6,256}["']?[ \\t]{0,8}(?:\\r?\\n|$))(?<=(?:^|[\\r\\n])[ \\t]{0,16}(?:ENV[ \\t]{1,4})?[A-Za-z0-9_.-]{0,32}(?:${DIRECTIVES.join('|')})[ \\t]{1,4})["']?([^\\s"'\`]{6,256})`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2),
    contextBefore: 50,
  },
  {
    id: 'dockerfile-env-secret',
    spaces: true,
    spacesWithin: 100,
    description: "a secret in a Dockerfile's ENV NAME VALUE form (ENV API_TOKEN …)",
    anchors: ['ENV ', 'ENV\t'],
    anyCase: true,
    pattern: `(?<=(?:^|[\\r\\n])[ \\t]{0,16})ENV[ \\t]{1,4}[A-Za-z0-9_]{0,40}${SECRET_NAME}[A-Za-z0-9_]{0,24}[ \\t]{1,4}["']?([^\\s"'\`=]{6,256})`,
    group: 1,
    // A path (`TOKEN_FILE /run/secrets/token`) or a variable is not the secret.
    accept: (value) => looksLikeSecretValue(value, 2) && !/^[-$/.~]/.test(value),
    contextBefore: 20,
  },
  {
    id: 'pgpass-record',
    spaces: true,
    description: 'the password of a .pgpass record (host:port:database:user:password)',
    anchors: PGPASS_PORTS.map((port) => `:${port}:`),
    // From the port field: the host is read back to the line's start, the password must end
    // the line and hold no colon but an escaped one (`\:`): an /etc/shadow line has more fields.
    pattern: `:${PGPASS_PORT}:(?<=(?:^|[\\r\\n])[ \\t]{0,8}[^\\s:#]{1,128}:${PGPASS_PORT}:)[^\\s:]{1,128}:[^\\s:]{1,128}:([^\\s]{4,256})(?=[ \\t]{0,8}(?:\\r?\\n|$))`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2) && !UNESCAPED_COLON.test(value),
    contextBefore: 140,
    maxLength: 800,
  },
];
