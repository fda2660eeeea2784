/**
 * Credentials in shapes an agent reads from config files, listings and command lines that no
 * `name = value` rule saw: a directive and its value on a line of their own (msmtp, fetchmail,
 * Redis), a .pgpass record, a key named just `pass`, `pw` or `psk`, a name listed as `DB_PASS`,
 * a secret manager's `raw`/`computed` pair, a flag named `--db-password`, an LDAP bind password.
 * Each went out bare on 73222c7.
 */
import { describe, it } from 'vitest';
import {
  expectLeftAlone,
  expectNoTailInStreams,
  expectRedacted,
  secret,
} from '../../../test/helpers/scrub-cases.js';

describe('a directive and its value on a line of their own', () => {
  const v = secret(20, 41);
  expectRedacted({
    "msmtp's password line": [`account default\nhost smtp.example.com\nuser alice\npassword ${v}\n`, v],
    'a tab-separated directive': [`user\talice\npassword\t${v}\n`, v],
    'a quoted value': [`poll mail.example.com\n  password "${v}"\n`, v],
    "Redis' requirepass": [`bind 127.0.0.1\nrequirepass ${v}\nport 6379\n`, v],
    "Redis' masterauth": [`masterauth ${v}`, v],
    'a prefixed name (smtp_password)': [`smtp_user alice\nsmtp_password ${v}\n`, v],
    'an indented directive in CRLF text': [`[mail]\r\n    passphrase ${v}\r\n`, v],
  });
  expectLeftAlone({
    'a heading about passwords': 'Password requirements\n',
    'a sentence that starts with the word': 'Password reset links expire after 24 hours.\n',
    "jest's PASS line": 'PASS src/scrub/engine.test.ts\n',
    'a status line': 'token expired\n',
    'a directive naming a file': 'passwordeval "gpg -d ~/.msmtp-password.gpg"\n',
    'a directive with a variable': 'password $' + '{SMTP_PASSWORD}\n',
  });
});

describe('a .pgpass record', () => {
  const v = secret(22, 42);
  expectRedacted({
    'with a port': [`localhost:5432:appdb:appuser:${v}\n`, v],
    'with wildcards': [`db.internal.example:*:*:postgres:${v}`, v],
    'with an escaped colon in the password': [`pg.example:6432:*:svc:ab\\:${v}\n`, v],
  });
  expectLeftAlone({
    'an /etc/shadow line': 'daemon:*:19000:0:99999:7:::\n',
    'an /etc/passwd line': 'root:x:0:0:root:/root:/bin/bash\n',
    'a log line with a port': 'listening on 0.0.0.0:5432: ready to accept connections\n',
  });
});

describe('short secret names', () => {
  const v = secret(24, 43);
  expectRedacted({
    'a "pass" key in JSON': [`{"credentials":{"user":"a","pass":"${v}"}}`, v],
    'a pass= parameter': [`smtp://mail?user=bob&pass=${v}`, v],
    'a "pw" key': [`{"user": "bob", "pw": "${v}"}`, v],
    "wpa_supplicant's psk": [`network={\n  ssid="home"\n  psk="${v}"\n}`, v],
    'a name listed as DB_PASS (Kubernetes env in YAML)': [`- name: DB_PASS\n  value: ${v}\n`, v],
    'a name listed as SMTP_PW': [`{"name": "SMTP_PW", "value": "${v}"}`, v],
  });
  expectLeftAlone({
    'a bypass flag': '{"bypass": "enabled-for-all-users-2024"}',
    'a compass heading': '{"compass": "north-north-west-by-23"}',
    'a passport strategy env entry': '- name: PASSPORT_STRATEGY\n  value: oidc-azure-ad-v2\n',
    'a bypass env entry': '- name: BYPASS_CACHE\n  value: always-revalidate-9\n',
  });
});

describe('a YAML anchor before a value', () => {
  const v = secret(24, 47);
  expectRedacted({
    'an anchored password': [`x-db:\n  password: &db_password ${v}\n`, v],
    'an anchored, quoted token': [`token: &tok "${v}"\n`, v],
  });
  expectLeftAlone({
    'an anchor on a plain setting': 'x-db:\n  host: &db_host db.internal.example-2024\n',
    'a query string with an empty password': 'login?user=alice&password=&next=/home-page-2024',
  });
});

describe("a secret manager's raw and computed values", () => {
  const v = secret(24, 44);
  const doppler = `{"DB_PASSWORD":{"raw":"${v}","computed":"${v}","note":""}}`;
  it('redacts both the raw and the computed value', () => {
    expectNoTailInStreams(doppler, v.slice(-8));
  });
  expectLeftAlone({
    'a raw value under a plain name': '{"PORT":{"raw":"8080","computed":"8080"}}',
  });
});

describe('flags named for a secret', () => {
  const v = secret(18, 45);
  expectRedacted({
    '--db-password VALUE': [`migrate --db-user app --db-password ${v} up`, v],
    '--smtp-auth-token=VALUE': [`notify --smtp-auth-token=${v}`, v],
    '--admin-api-key "VALUE"': [`setup --admin-api-key "${v}"`, v],
    "ldapsearch's -w": [`ldapsearch -x -H ldap://dc1 -D cn=admin,dc=example -w ${v} -b dc=example`, v],
    "ldapmodify's -w": [`ldapmodify -D "cn=admin" -w '${v}' -f change.ldif`, v],
  });
  expectLeftAlone({
    'a flag that reads the secret from stdin': 'login --db-password-stdin < secret.txt',
    'a negated flag before another flag': 'init --no-password --skip-verification-checks',
    "ldapsearch's -W (prompt)": 'ldapsearch -x -D cn=admin,dc=example -W -b dc=example',
  });
});

describe("a Dockerfile's ENV NAME VALUE", () => {
  const v = secret(20, 49);
  expectRedacted({
    'a token': [`FROM node:20\nENV API_TOKEN ${v}\nRUN npm ci\n`, v],
    'a password (also a directive)': [`ENV DB_PASSWORD ${v}\n`, v],
    'a quoted secret key, lower-case instruction': [`env STRIPE_SECRET_KEY "${v}"\n`, v],
  });
  expectLeftAlone({
    'a setting': 'ENV NODE_ENV production\n',
    'a path to the secret': 'ENV TOKEN_FILE /run/secrets/token\n',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a variable as a Dockerfile writes it
    'a variable': 'ENV API_TOKEN ${API_TOKEN}\n',
  });
});

describe('in a stream', () => {
  const v = secret(24, 46);
  const texts: Record<string, string> = {
    'a directive line': `user alice\npassword ${v}\nport 587\n`,
    'a .pgpass record': `# pg\nlocalhost:5432:appdb:appuser:${v}\n`,
    "a Dockerfile's ENV": `FROM alpine\nENV SERVICE_TOKEN ${v}\nCMD ["sh"]\n`,
  };
  for (const [name, text] of Object.entries(texts)) {
    it(`redacts ${name} cut at every position and in small chunks`, () =>
      expectNoTailInStreams(text, v.slice(-8)));
  }
});
