/**
 * Credentials written in shapes other than `name = value`, as an agent reads them in tool output
 * every day: a session cookie in verbose HTTP output, a password on a command line in a process
 * list or shell history, a secret in an XML settings file (Maven's settings.xml, .NET's
 * appSettings). The value itself has no prefix, so each rule is gated by entropy as the generic
 * assignment rule is (placeholders stay readable).
 */
import { looksLikeSecretValue } from './generic.js';
import type { SecretRule } from './types.js';

/** Secret names as settings spell them (case is folded by each rule). */
export const SECRET_NAME =
  '(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|client[_-]?secret|private[_-]?key|auth[_-]?token|credentials?)';

/**
 * Whether a Cookie or Set-Cookie header value holds a cookie whose value looks like a secret:
 * a session id or a signed token. `theme=dark; lang=en` and Set-Cookie attributes do not.
 */
function holdsSecretCookie(header: string): boolean {
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0) continue;
    const value = pair
      .slice(equals + 1)
      .trim()
      .replace(/^"|"$/g, '');
    if (value.length >= 16 && looksLikeSecretValue(value)) return true;
  }
  return false;
}

/** The last word of a flag that takes a secret (`--password`, `--db-password`, `--admin-api-key`). */
const CLI_SECRET_WORDS = [
  'password',
  'passwd',
  'pass',
  'passphrase',
  'secret',
  'token',
  'api-key',
  'apikey',
  'access-key',
  'secret-key',
  'client-secret',
  'auth-token',
  // Java's keytool and jarsigner; each flag is its own anchor, so a command's second one is read too.
  'storepass',
  'keypass',
  'srcstorepass',
  'deststorepass',
  'srckeypass',
  'destkeypass',
];

export const configShapeRules: readonly SecretRule[] = [
  {
    id: 'cookie-header',
    spaces: true,
    description: 'session cookies in a Cookie or Set-Cookie header (curl -v, HTTP logs, headers as JSON)',
    anchors: ['cookie'],
    anyCase: true,
    // The whole header value: a Cookie header is a list of credentials and preferences alike,
    // and a redaction per cookie would need a repeated group the regex lint refuses.
    // From the anchor (the match starts there): `Set-Cookie` is matched at its `Cookie`.
    // Also a header as a HAR or a manifest records it: `{"name": "Cookie", "value": "…"}`.
    pattern: `(?<![A-Za-z0-9_.])cookie["']?(?:[ \\t]{0,3}:|[ \\t]{0,3}[,\\r\\n][ \\t\\r\\n]{0,8}["']?value["']?[ \\t]{0,3}[:=])[ \\t]{0,3}["']?([^\\r\\n"'<>]{8,4096})`,
    group: 1,
    accept: (value) => holdsSecretCookie(value),
    maxLength: 4200,
  },
  {
    id: 'cli-secret-flag',
    spaces: true,
    spacesWithin: 24,
    description:
      'a secret given to a command-line flag (--password VALUE, --db-password VALUE, -Password VALUE), as ps and shell history show it',
    // From the flag's last word: the words before it (`--db-`, `--admin-`) are read back. One
    // dash is a flag too (PowerShell's `-Password`, Java tools' `-password`).
    anchors: CLI_SECRET_WORDS.map((word) => `-${word}`),
    anyCase: true,
    pattern: `(?<=(?:^|[\\s"'=(\\[,;|&])(?:-|--[A-Za-z0-9][A-Za-z0-9-]{0,60})?)-(?:${CLI_SECRET_WORDS.join('|')})(?:=|[ \\t]{1,4})["']?([^\\s"'\`<>;|&]{8,256})`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value) && !value.startsWith('-'),
    contextBefore: 70,
  },
  {
    id: 'mysql-password-flag',
    spaces: true,
    spacesWithin: 280,
    description: "a MySQL or MariaDB client's -pPASSWORD on its command line",
    anchors: ['mysql', 'mariadb'],
    pattern: '(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)[^\\r\\n|;&]{0,256}? -p([^\\s"\'`]{4,256})',
    group: 1,
    maxLength: 560,
    accept: (value) => looksLikeSecretValue(value, 2),
  },
  {
    id: 'openssl-pass-argument',
    description: 'a password in an OpenSSL pass phrase argument (-passin pass:…, -passout pass:…, -k)',
    anchors: ['pass:'],
    pattern: '(?<![A-Za-z0-9_-])pass:([^\\s"\'`]{6,256})',
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2),
  },
  {
    id: 'xml-secret-element',
    spaces: true,
    spacesWithin: 30,
    description: 'a secret element in an XML settings file (<password>…</password>, Maven settings.xml)',
    anchors: [
      '<password>',
      '<passwd>',
      '<pwd>',
      '<passphrase>',
      '<secret>',
      '<token>',
      '<apikey>',
      '<api_key>',
      '<api-key>',
      '<accesskey>',
      '<access_key>',
      '<secretkey>',
      '<secret_key>',
      '<clientsecret>',
      '<client_secret>',
      '<privatekey>',
      '<private_key>',
      '<authtoken>',
      '<auth_token>',
      '<credential>',
      '<credentials>',
    ],
    anyCase: true,
    pattern: `<${SECRET_NAME}>\\s{0,4}([^<\\s]{8,256})(?=</)`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value),
  },
  {
    id: 'xml-secret-setting',
    spaces: true,
    spacesWithin: 140,
    description: 'a secret setting in XML (<add key="ApiKey" value="…"/>, .NET appSettings)',
    anchors: ['key="'],
    anyCase: true,
    pattern: `key="[A-Za-z0-9_.:-]{0,40}${SECRET_NAME}[A-Za-z0-9_.:-]{0,40}"\\s{1,4}value="([^"<>\\s]{8,256})"`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value),
  },
  {
    id: 'sql-identified-by',
    spaces: true,
    spacesWithin: 180,
    description:
      "a password in SQL that sets one (CREATE USER … IDENTIFIED BY '…', MySQL's SET PASSWORD … = '…' and PASSWORD('…'))",
    anchors: ['identified', 'set password', 'password('],
    anyCase: true,
    // MySQL's `SET PASSWORD FOR 'u'@'h' = PASSWORD('…')` went out bare on bec358b: no separator
    // stands next to the word.
    pattern: `(?:identified[ \\t]{1,4}(?:with[ \\t]{1,4}[a-z0-9_]{1,40}[ \\t]{1,4})?by[ \\t]{1,4}|set[ \\t]{1,4}password(?:[ \\t]{1,4}for[ \\t]{1,4}[^=\\r\\n;]{1,120}?)?[ \\t]{0,4}=[ \\t]{0,4}(?:password\\([ \\t]{0,4})?|(?<![A-Za-z0-9_])password\\([ \\t]{0,4})\\\\{0,3}["']([^"'\\s\\\\]{6,256})(?=\\\\{0,3}["'])`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2),
  },
  {
    id: 'netrc-password',
    spaces: true,
    spacesWithin: 200,
    description: 'a password in a .netrc entry (machine … login … password …)',
    anchors: ['machine', 'login'],
    pattern: '(?:machine|login)\\s{1,16}[^\\s]{1,128}\\s{1,16}password\\s{1,16}([^\\s]{4,256})',
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2),
  },
  {
    id: 'secret-store-command',
    spaces: true,
    spacesWithin: 240,
    description:
      'a secret given to a command that stores one (gh secret set --body, aws secretsmanager --secret-string, ssm put-parameter --value, az keyvault secret set --value)',
    anchors: ['secret set', 'secrets set', 'secretsmanager', 'put-parameter'],
    anyCase: true,
    pattern:
      '(?:secrets? set|secretsmanager|put-parameter)[^\\r\\n|;&]{0,200}? (?:--body|-b|--value|--secret-string)(?:=|[ \\t]{1,4})["\']?([^\\s"\'`]{6,256})',
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2) && !value.startsWith('-'),
  },
  {
    id: 'shell-set-secret',
    spaces: true,
    spacesWithin: 120,
    description:
      'a secret set as a variable by a command (setx, fish set -gx, dotnet user-secrets set, launchctl setenv)',
    anchors: ['setx ', 'set -gx ', 'set -ux ', 'set -x ', 'user-secrets set ', 'launchctl setenv '],
    anyCase: true,
    pattern: `(?:setx|set -[gu]?x|user-secrets set|launchctl setenv)[ \\t]{1,4}["']?[A-Za-z0-9_.:-]{0,40}${SECRET_NAME}[A-Za-z0-9_.:-]{0,40}["']?[ \\t]{1,4}["']?([^\\s"'\`]{6,256})`,
    group: 1,
    accept: (value) => looksLikeSecretValue(value, 2) && !value.startsWith('$'),
  },
  {
    id: 'docker-config-auth',
    spaces: true,
    spacesWithin: 16,
    description: 'a login as base64 of user:password (a Docker config\'s "auth", .npmrc\'s _auth=)',
    anchors: ['"auth"', '_auth='],
    pattern: '(?:"auth"[ \\t]{0,4}:[ \\t]{0,4}"|_auth=["\']?)([A-Za-z0-9+/]{8,2048}={0,2})',
    group: 1,
    accept: (value) => Buffer.from(value, 'base64').toString('latin1').includes(':'),
    maxLength: 2100,
  },
  {
    id: 'actions-add-mask',
    spaces: true,
    description: "a value a GitHub Actions step masked (::add-mask::…), printed in the step's log",
    anchors: ['::add-mask::'],
    pattern: '::add-mask::([^\\r\\n]{4,256})',
    group: 1,
    accept: (value) => !value.startsWith('$'),
  },
];
