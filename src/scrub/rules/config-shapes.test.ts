/**
 * Credentials in shapes an agent reads in tool output every day, none of them `name = value`: a
 * session cookie in `curl -v` output, a password on a command line in `ps` output or shell
 * history, a secret in an XML settings file. Each went out bare before these rules.
 */
import { describe } from 'vitest';
import { expectLeftAlone, expectRedacted, secret } from '../../../test/helpers/scrub-cases.js';

describe('session cookies', () => {
  const sid = secret(32, 1);
  const csrf = secret(40, 2);
  expectRedacted({
    'a Cookie header (curl -v)': [`> Cookie: theme=dark; sessionid=${sid}; lang=en\r\n`, sid],
    'the second secret cookie of a header': [`Cookie: sessionid=${sid}; csrftoken=${csrf}`, csrf],
    'a Set-Cookie header with attributes': [`< Set-Cookie: sid=${sid}; Path=/; HttpOnly; Secure\r\n`, sid],
    'a lower-case header in JSON': [`{"headers": {"cookie": "connect.sid=s%3A${sid}"}}`, sid],
    'a quoted cookie value': [`Cookie: token="${sid}"`, sid],
  });
  expectLeftAlone({
    'preference cookies': 'Cookie: theme=dark; lang=en-GB; tz=Europe/Berlin',
    'prose about cookies': 'Cookie: a small sweet biscuit, baked until golden.',
    'Set-Cookie attributes alone': 'Set-Cookie: consent=yes; Path=/; Max-Age=31536000; SameSite=Lax',
    'document.cookie in code': 'document.cookie = "theme=dark; path=/";',
  });
});

describe('secrets on a command line', () => {
  const pw = secret(18, 3);
  expectRedacted({
    '--password VALUE in ps output': [
      `root  4242  0.0  /usr/bin/backup --user svc --password ${pw} --dest s3`,
      pw,
    ],
    '--api-key "VALUE"': [`tool --api-key "${pw}" run`, pw],
    '--client-secret=VALUE': [`oauth2 --client-secret=${pw}`, pw],
    '--Passphrase VALUE in any case': [`gpg --Passphrase ${pw} --batch`, pw],
    "mysql's -pPASSWORD": [`mysql -h db.internal -u root -p${pw} app < dump.sql`, pw],
    "mysqldump's -pPASSWORD": [`mysqldump -uroot -p${pw} --all-databases`, pw],
    'docker login -p VALUE in a CI script': [
      `echo ok && docker login -u ci -p ${pw} registry.example.com`,
      pw,
    ],
    'sshpass -p VALUE': [`sshpass -p '${pw}' ssh deploy@10.0.0.5`, pw],
    'redis-cli -a VALUE': [`redis-cli -h cache -a ${pw} ping`, pw],
    "openssl's -passout pass:VALUE": [`openssl pkcs12 -export -in c.pem -passout pass:${pw} -out c.p12`, pw],
  });
  expectLeftAlone({
    '--password-stdin': 'echo "$PW" | docker login --username ci --password-stdin',
    'a flag given a variable': `deploy --token $GITHUB_TOKEN --password "$${'{'}DB_PASSWORD}"`,
    "mysql's -p with no value (it prompts)": 'mysql -u root -p app',
    'a flag followed by another flag': 'client --pass --verbose --retries 3',
    'docker login reading its password from stdin':
      'docker login -u ci --password-stdin registry.example.com',
    "openssl's pass phrase from the environment": 'openssl rsa -in k.pem -passin env:KEY_PASS -out k.der',
    'a sentence about bypass: routes': 'the bypass:routes table lists them',
  });
});

describe('secrets in XML settings', () => {
  const value = secret(24, 4);
  expectRedacted({
    "Maven settings.xml's <password>": [
      `<server>\n  <id>deploy</id>\n  <username>ci</username>\n  <password>${value}</password>\n</server>`,
      value,
    ],
    '<Password> in another case': [`<Password>${value}</Password>`, value],
    '<passphrase>': [`<passphrase>${value}</passphrase>`, value],
    'an appSettings secret': [`<add key="Stripe:SecretKey" value="${value}" />`, value],
    'an appSettings API key': [`<add key="ApiKey" value="${value}"/>`, value],
    'a JSON passphrase': [`{"passphrase": "${value}"}`, value],
  });
  expectLeftAlone({
    'a property reference': `<password>$${'{'}env.DEPLOY_PASSWORD}</password>`,
    'a flag': '<secret>true</secret>',
    'a setting that names a secret without holding one': '<add key="TokenExpiryMinutes" value="30" />',
    'an empty element': '<token></token>',
  });
});

describe('names that end in PASS, PW or KEY, and Azure messaging keys', () => {
  const pw = secret(20, 40);
  expectRedacted({
    'STRIPE_KEY= in an env file': [`STRIPE_KEY=${pw}\n`, pw],
    'ENCRYPTION_KEY: in YAML': [`ENCRYPTION_KEY: ${pw}`, pw],
    "Laravel's APP_KEY": [
      `APP_KEY=base64:${Buffer.from(pw + pw).toString('base64')}`,
      Buffer.from(pw + pw).toString('base64'),
    ],
    'a camelCase signingKey in JSON': [`{"signingKey": "${pw}"}`, pw],
    'ADMIN_PW=': [`ADMIN_PW=${pw}`, pw],
    'a passcode': [`passcode: ${pw}`, pw],
    'DB_PASS= in an env file': [`DB_PASS=${pw}\n`, pw],
    'SMTP_PASS: in YAML': [`SMTP_PASS: "${pw}"`, pw],
    'mail_pass in JSON': [`{"mail_pass": "${pw}"}`, pw],
    'a Service Bus connection string': [
      `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=${secret(43, 41)}=`,
      secret(43, 41),
    ],
  });
  expectLeftAlone({
    'a bypass setting': `bypass: ${pw}`,
    'a compass heading': 'compass: 270',
    'a public key': 'PUBLIC_KEY=MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE',
    'an S3 object key': 'S3_OBJECT_KEY=uploads/2024/a8f3/file.png',
    'a sort key': '{"sort_key": "user#a8f3c9e1"}',
    'a translation key': '{"translation_key": "app.settings.title", "message_key": "errors.not_found"}',
  });
});
