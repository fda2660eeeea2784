/**
 * Provider-independent shapes: JWTs, private keys, passwords in connection
 * strings and URLs, Authorization headers and `password = ...` assignments.
 * The assignment rules are gated by entropy so placeholders and examples
 * (`password: changeme`, `token: ${GITHUB_TOKEN}`) stay readable.
 */
import { ENTROPY_SAMPLE, lastValueAscii, sampleEntropyIn } from '../entropy.js';
import { escapeRegex, L, type SecretRule } from './types.js';

/** Values that name a secret instead of being one: templates, env references, masks, literals. */
export const PLACEHOLDER =
  /^(?:\$\{?|\{\{|%\(|<|\*{3}|x{4}|\[REDACTED|your[-_.]|true$|false$|null$|none$|undefined$|required$|optional$)|^[0-9]+$|^[a-z_]+$/i;

export function looksLikeSecretValue(value: string, minEntropy = 3): boolean {
  return looksLikeSecretValueIn(value, value, 0, value.length, minEntropy);
}

/**
 * `looksLikeSecretValue(value, minEntropy)` for `value`, `input.slice(start, end)`, its entropy
 * sample read in place: on text of many rules' anchors the sample, read through the slice, was
 * a seventh of the scrub.
 */
function looksLikeSecretValueIn(
  value: string,
  input: string,
  start: number,
  end: number,
  minEntropy = 3,
): boolean {
  // The entropy of a 64-character sample first: it turns most repetitive candidates down
  // (`token=token=…`), and the script check reads the whole value (up to 256 characters). A
  // value the sample covers whole and found all ASCII has no such script (`lastValueAscii`).
  return (
    !isPlaceholder(value) &&
    sampleEntropyIn(input, start, end) >= minEntropy &&
    ((value.length > 0 && value.length <= ENTROPY_SAMPLE && lastValueAscii()) || !mostlyCjk(value))
  );
}

/** Code units read by the proofs below before they leave a value to its regex. */
const PROOF_READ = 16;
/** 1 for each ASCII character of `chars`. */
function asciiSet(chars: string): Uint8Array {
  const set = new Uint8Array(128);
  for (let k = 0; k < chars.length; k++) set[chars.charCodeAt(k)] = 1;
  return set;
}
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** `\w` (no flag: ASCII only), `[\w$]` and `[A-Za-z_$]`. */
const WORD = asciiSet(`${LETTERS}0123456789_`);
const IDENTIFIER = asciiSet(`${LETTERS}0123456789_$`);
const IDENTIFIER_START = asciiSet(`${LETTERS}_$`);
/**
 * The first characters of PLACEHOLDER's prefix alternatives that a value can go on after, in
 * either case (under `i` without `u`, no character outside ASCII matches an ASCII letter). The
 * others (`true$`, `null$`, …) are whole values of word characters, as the last two are.
 */
const PLACEHOLDER_FIRST = asciiSet('${%<*[xXyY');

/**
 * `PLACEHOLDER.test(value)`, but for letters of random case. Most values a rule finds start with no prefix alternative's first
 * character and hold a character that is neither a digit nor a letter or `_` near their start:
 * then no alternative can match, and the regex call (half a rule gate on text of many
 * candidates) is not made. Else, or past PROOF_READ characters, the regex decides.
 */
export function isPlaceholder(value: string): boolean {
  const first = value.charCodeAt(0);
  // Outside ASCII: no alternative can start there.
  if (first >= 128) return false;
  if (first < 128 && PLACEHOLDER_FIRST[first] === 0) {
    // The other two alternatives (`^[0-9]+$`, `^[a-z_]+$`) need every character a word character.
    const stop = Math.min(value.length, PROOF_READ);
    for (let k = 0; k < stop; k++) {
      const code = value.charCodeAt(k);
      if (code >= 128 || WORD[code] === 0) return false;
    }
  }
  return PLACEHOLDER.test(value) && !randomCaseLetters(value);
}

/**
 * Letters whose case changes as a coin's would: a random key with no digit in it (one in 30 of
 * 20 random letters and digits), not an identifier that `^[a-z_]+$` is there for. camelCase has
 * few capitals (`getUserTokenFromVault`: a fifth), acronyms change case seldom (`XMLHttpRequest`:
 * at a fifth of its places), a constant has one case. Twelve letters or more, each case a
 * quarter of them or more, the case changing at 30% of the places or more: 95% of random
 * 20-letter keys.
 */
export function randomCaseLetters(value: string): boolean {
  if (value.length < 12) return false;
  let upper = 0;
  let changes = 0;
  let previous = -1;
  for (let k = 0; k < value.length; k++) {
    const code = value.charCodeAt(k);
    const isUpper = code >= 65 && code <= 90 ? 1 : code >= 97 && code <= 122 ? 0 : -1;
    if (isUpper < 0) return false;
    upper += isUpper;
    if (previous >= 0 && isUpper !== previous) changes++;
    previous = isUpper;
  }
  const quarter = value.length / 4;
  return upper >= quarter && value.length - upper >= quarter && changes >= value.length * 0.3;
}
const DOT = 46;

/**
 * Text in a script written without spaces (Chinese, Japanese, Korean) is words, not a key:
 * `"Unexpected_token_1012": "意外的权杖。"` in a localised message file. Half or more such
 * characters.
 */
export function mostlyCjk(value: string): boolean {
  let other = 0;
  for (let k = 0; k < value.length; k++) {
    const code = value.charCodeAt(k);
    if (
      (code >= 0x2e80 && code <= 0x9fff) ||
      (code >= 0xac00 && code <= 0xd7af) ||
      (code >= 0xff00 && code <= 0xffef)
    )
      continue;
    // More than half not such characters: decided without reading the rest.
    if (++other * 2 > value.length) return false;
  }
  return true;
}

/**
 * An unquoted member call or index in source code (`client.fetch_token(`, `os.environ[`,
 * `jwt.sign(`): the value is read from somewhere, not written here. A coding agent reads such
 * lines all day (`token = client.fetch_token(url)`, `token: process.env.API_TOKEN`); redacted,
 * the code it edits no longer says what it does. Quoted, it is a literal (`"k8.Pz(Qm4"`), and at least one `.` is needed before
 * the bracket: an unquoted `PASSWORD=Summer(2024` is still a value.
 */
export const CODE_REFERENCE =
  /^(?:[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[([]|(?:process\.env|import\.meta\.env|os\.environ)[.[])/;
const QUOTES = new Set(['"', "'", '`']);

/**
 * `CODE_REFERENCE.test(value)`. Each of its matches starts with an identifier (`[A-Za-z_$][\w$]*`,
 * `process`, `import`, `os`) followed by a `.`; only where the identifier that starts the value
 * is followed by one (or runs on past PROOF_READ characters) is the regex called.
 */
export function isCodeReference(value: string): boolean {
  const first = value.charCodeAt(0);
  if (!(first < 128 && IDENTIFIER_START[first] === 1)) return false;
  const stop = Math.min(value.length, PROOF_READ);
  let k = 1;
  while (k < stop) {
    const code = value.charCodeAt(k);
    if (code >= 128 || IDENTIFIER[code] === 0) break;
    k++;
  }
  if (k < stop && value.charCodeAt(k) !== DOT) return false;
  if (k === value.length) return false;
  return CODE_REFERENCE.test(value);
}

function assignedSecret(value: string, before: string): boolean {
  return looksLikeSecretValue(value) && (QUOTES.has(before) || !isCodeReference(value));
}

/** `assignedSecret(input.slice(start, end), input[start - 1] ?? '')`, its entropy read in place. */
function assignedSecretIn(input: string, start: number, end: number): boolean {
  const value = input.slice(start, end);
  return (
    looksLikeSecretValueIn(value, input, start, end) &&
    (QUOTES.has(start > 0 ? input[start - 1]! : '') || !isCodeReference(value))
  );
}

const DB_SCHEMES = [
  'postgres',
  'postgresql',
  'mysql',
  'mariadb',
  'mongodb',
  'mongodb+srv',
  'redis',
  'rediss',
  'amqp',
  'amqps',
  'mssql',
  'sqlserver',
  'clickhouse',
  'cockroachdb',
];

/**
 * Schemes whose URLs carry a login in their user part. Each is an anchor: a list, not any
 * `scheme://`, so ordinary links do not each cost a regex call.
 */
const URL_LOGIN_SCHEMES = [
  'http',
  'https',
  'ftp',
  'ftps',
  'sftp',
  'smtp',
  'smtps',
  'imap',
  'imaps',
  'pop3',
  'pop3s',
  'ldap',
  'ldaps',
  'ssh',
  'git',
  'git+ssh',
  'git+https',
  'svn',
  'svn+ssh',
  'ws',
  'wss',
  'socks4',
  'socks5',
  'socks5h',
  'mqtt',
  'mqtts',
  'nats',
  'neo4j',
  'neo4j+s',
  'bolt',
  'couchdb',
  'influxdb',
  'rtsp',
  'sip',
  'nntp',
  'webdav',
  'davs',
  'dav',
];

const HOST_NAME = /^[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}$/;

/**
 * A quote as an HTML page writes it (`&quot;`, `&#39;`, `&#x27;`, `&apos;`): code or JSON shown in
 * a page (`password = &quot;…&quot;`) was not an assignment to the rule, its value starting at `&`.
 */
const QUOTE_REFERENCE = '&(?:quot|apos|#0?3[49]|#[xX]2[27]);';

/**
 * A name listed beside its value rather than assigned one, the name first on its line (or in a
 * tuple): a CSV or TSV row (`DB_PASSWORD,…`), aligned columns (`heroku config`: `JWT_SECRET:` and
 * many spaces), `("API_KEY", "…")`, kubectl describe's `NAME:` / `----` / value, a YAML value on
 * the next line (`password: |`). Read back from after the name, so only this rule's anchors pay.
 * A lookahead for the separator's first characters comes first: the lookbehind, dearer, then
 * runs only where a separator follows (not after every `token` in prose).
 * Its gaps are short enough that the rule's whitespace stays within its first 64 characters (a
 * stream stops holding prose after `token` as soon as it did): columns padded wider are missed.
 */
const LISTED = `(?=["']?(?:[ \\t]{0,2}[,\\t]|[ \\t]{2}|:))(?<=(?:^|[\\r\\n\\[(])[ \\t]{0,16}["']?[A-Za-z0-9_.\\/-]{0,90})["']?(?:[ \\t]{0,2}[,\\t][ \\t]{0,12}|[ \\t]{2,18}|:[ \\t]{5,17}|:\\r?\\n-{3,8}\\r?\\n|:[ \\t]{0,2}(?:[|>][-+]?)?\\r?\\n[ \\t]{1,12})`;

/**
 * A label's cell and the cell after it in a Markdown table (`| API key | \`…\` |`), as the
 * assignment rule's separator: the label read back to its cell's `|`.
 */
const TABLE_CELL = `(?=[ \\t*_\`]{0,4}\\|)(?<=\\|[ \\t]{0,4}[^|\\r\\n]{0,60})[ \\t*_\`]{0,4}\\|[ \\t]{0,3}`;

/**
 * A name that ends in `_KEY` or `-key` names a secret (`STRIPE_KEY=`, `ENCRYPTION_KEY=`), except
 * where the key is an index, a path or public (`SORT_KEY`, `S3_OBJECT_KEY`, `PUBLIC_KEY`).
 */
const KEY_SUFFIX =
  '(?<!public|publishable|pub|sort|partition|primary|foreign|cache|object|idempotency|routing|s3|file|bucket|storage|lookup|map|hash|dedupe?|unique|index|search|license|ssh|gpg|pgp|host|sign|verify|verification|hot|short|shortcut|api)[_-]key';

const ASSIGNED_NAMES = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'api_key',
  'api-key',
  'apikey',
  'apiKey',
  'api key',
  'access key',
  // `DB_PASS`, `SMTP_PASS`: only before a separator, so `_password` is not a second hit.
  '_pass=',
  '_pass:',
  '_pass =',
  '_pass"',
  "_pass'",
  '-pass=',
  '-pass:',
  'passcode',
  'pepper',
  '_pw=',
  '_pw:',
  '_pw"',
  'access_key',
  'accessKey',
  'private_key',
  'privateKey',
  'client_secret',
  'clientSecret',
  'auth_key',
  'authKey',
  'credential',
  // A key named just `pass`, `pw` or `psk` (wpa_supplicant): quoted, or before `=`.
  '"pass"',
  "'pass'",
  '"pass\\',
  '"pw"',
  "'pw'",
  '"pw\\',
  '"psk"',
  'pass=',
  'pass =',
  'pw=',
  'psk=',
  'psk =',
  'pw:',
  'psk:',
];

/**
 * `pass`, `pw` and `psk` as a whole name: quoted (a JSON or YAML key), or a word before `=` (a
 * query parameter, wpa_supplicant's `psk=`), `pw` and `psk` before `:` too (YAML, a note). Not
 * `bypass=`, not `PASS: test.ts`.
 */
const SHORT_NAMES = `["']p(?:ass|w|sk)(?=\\\\{0,3}["'])|(?<![A-Za-z0-9_-])p(?:(?:ass|w|sk)(?=[ \\t]{0,4}=)|(?:w|sk)(?=:))`;

/**
 * A rule for a value assigned to (or listed beside) one of `names`: the name, its separator (`=`,
 * `:`, `=>`, a listed or Markdown-row form, SQL's `PASSWORD '…'`) and a value, quoted or not.
 */
function assignment(
  id: string,
  description: string,
  anchors: readonly string[],
  names: string,
  accept: (value: string, before: string) => boolean,
  acceptIn: (input: string, start: number, end: number) => boolean,
): SecretRule {
  return {
    id,
    spaces: true,
    spacesWithin: 64,
    description,
    anchors,
    anyCase: true,
    pattern: `${names}(?:[_.-][A-Za-z0-9_.-]{1,24}|key)?(?:(?:\\\\{0,3}["']\\]?|${QUOTE_REFERENCE})?\\s{0,4}(?::=|=>|==|[:=])\\s{0,4}|${LISTED}|${TABLE_CELL}|[ \\t]{1,4}(?=\\\\{0,3}'))(?:\\\\{0,3}["'\`]|${QUOTE_REFERENCE})?([^\\s"'\`<>&;,)\\]}]{8,256})`,
    group: 1,
    // Quotes may be escaped (`\"password\": \"…\"`: JSON put in a string, as a log line's
    // message or an HTTP body kept as text), and the escape of the closing one is kept.
    keepsEscape: true,
    // LISTED reads back to its line's start, TABLE_CELL to its cell's `|`.
    contextBefore: 110,
    extend: '[^\\s"\'`<>&;,)\\]}]',
    accept,
    acceptIn,
  };
}

/** `STRIPE_KEY`, `ENCRYPTION_KEY`, Laravel's `APP_KEY`: a name ending in `_KEY` (KEY_SUFFIX). */
const KEY_NAMES = [
  '_key=',
  '_key:',
  '_key =',
  '_key"',
  "_key'",
  '-key=',
  '-key:',
  'signingKey',
  'encryptionKey',
  'masterKey',
  'sessionKey',
  'hmacKey',
  'jwtKey',
];

/** Words joined by dots, underscores or slashes, no digit: an identifier (`app.settings.title`), not a key. */
const IDENTIFIER_PATH = /^[A-Za-z]+(?:[._:/-][A-Za-z]+)+$/;

export const genericRules: readonly SecretRule[] = [
  {
    id: 'jwt',
    description: 'JSON Web Token (base64url header and payload, both JSON objects)',
    anchors: ['eyJ'],
    pattern: `${L}eyJ[A-Za-z0-9_-]{10,400}\\.eyJ[A-Za-z0-9_-]{10,8192}\\.[A-Za-z0-9_-]{0,2048}`,
    maxLength: 10700,
  },
  {
    id: 'pem-private-key',
    spaces: true,
    description: 'PEM / OpenSSH / PGP private key block',
    anchors: ['-----BEGIN '],
    // To the first END line, whatever stands between the lines: a page writes them apart with
    // `<br>`, `&#10;` or `</p><p>`, a JSON array as strings, and a body class stopped there left
    // every line but the first out bare. Without an END line the rest of the base64-ish body is
    // redacted: over-redacting a truncated key is the safe failure.
    pattern:
      '-----BEGIN [A-Z ]{0,24}PRIVATE KEY(?: BLOCK)?-----(?:[\\s\\S]{0,16384}?-----END [A-Z ]{0,24}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\\s\\\\:,.-]{0,16384})',
    maxLength: 16500,
  },
  {
    id: 'age-secret-key',
    description: 'age encryption secret key (AGE-SECRET-KEY-1 + 58 bech32)',
    anchors: ['AGE-SECRET-KEY-1'],
    pattern: 'AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}',
  },
  {
    id: 'db-connection-password',
    description: 'password in a database or broker connection URL (scheme://user:password@host)',
    anchors: DB_SCHEMES.map((s) => `${s}://`).concat(['jdbc:']),
    pattern: `(?:jdbc:[a-z]{2,12}:)?(?:${DB_SCHEMES.map((s) => s.replace('+', '\\+')).join('|')})://[^\\s:/@?#]{0,128}:([^\\s@/?#]{1,256})@`,
    group: 1,
  },
  {
    id: 'url-basic-auth',
    description:
      'password in a URL of a scheme that logs in (https://user:password@host, smtp://, ldap://, ssh://)',
    anchors: URL_LOGIN_SCHEMES.map((scheme) => `${scheme}://`),
    pattern: `(?:${URL_LOGIN_SCHEMES.map(escapeRegex).join('|')})://[^\\s:/@?#]{1,128}:([^\\s@/?#]{1,256})@`,
    group: 1,
  },
  {
    id: 'url-userinfo-token',
    description:
      'a token as the whole user part of a URL (https://TOKEN@github.com/org/repo), if random enough',
    anchors: URL_LOGIN_SCHEMES.map((scheme) => `${scheme}://`),
    pattern: `(?:${URL_LOGIN_SCHEMES.map(escapeRegex).join('|')})://([A-Za-z0-9_.~+=-]{16,256})@`,
    group: 1,
    // A host name before `@` (`https://www.example.com@evil.test`) is a trick, not a token.
    accept: (value) => looksLikeSecretValue(value, 3.5) && !HOST_NAME.test(value),
  },
  {
    id: 'authorization-header',
    spaces: true,
    spacesWithin: 40,
    description: 'credential in an Authorization header',
    anchors: ['authorization'],
    anyCase: true,
    pattern:
      'authorization["\']?\\s{0,3}[:=]\\s{0,3}["\']?(?:(?:basic|bearer|token|bot|apikey|digest) )?([A-Za-z0-9._~+/=-]{8,4096})',
    group: 1,
    extend: '[A-Za-z0-9._~+/=-]',
    accept: (value) => looksLikeSecretValue(value),
    acceptIn: (input, start, end) => looksLikeSecretValueIn(input.slice(start, end), input, start, end),
    maxLength: 4200,
  },
  {
    id: 'bearer-token',
    spaces: true,
    spacesWithin: 8,
    description: 'bearer token outside a header (e.g. in a curl command line)',
    anchors: ['bearer '],
    anyCase: true,
    pattern: 'bearer ([A-Za-z0-9._~+/-]{16,4096}={0,2})',
    group: 1,
    extend: '[A-Za-z0-9._~+/=-]',
    accept: (value) => looksLikeSecretValue(value, 3.5),
    acceptIn: (input, start, end) => looksLikeSecretValueIn(input.slice(start, end), input, start, end, 3.5),
    maxLength: 4200,
  },
  assignment(
    'generic-secret-assignment',
    'a value assigned to a password/secret/token/api_key-like name, if random enough',
    ASSIGNED_NAMES,
    `(?:password|passwd|pwd|passphrase|passcode|pepper|[_-]pass|[_-]pw|${SHORT_NAMES}|secret|token|api[ _-]?key|access[ _-]?key|private[_-]?key|client[_-]?secret|auth[_-]?key|credentials?)`,
    assignedSecret,
    assignedSecretIn,
  ),
  assignment(
    'key-name-assignment',
    'a value assigned to a name that ends in KEY (STRIPE_KEY, ENCRYPTION_KEY, signingKey), if random and not a dotted identifier',
    KEY_NAMES,
    `(?:${KEY_SUFFIX}|(?:signing|encryption|master|session|hmac|jwt)key)`,
    (value, before) => assignedSecret(value, before) && !IDENTIFIER_PATH.test(value),
    (input, start, end) =>
      assignedSecretIn(input, start, end) && !IDENTIFIER_PATH.test(input.slice(start, end)),
  ),
];
