/**
 * A secret told in a sentence, and logins in URLs of schemes other than http: each went out bare
 * on 41b06c4.
 */
import { describe, it } from 'vitest';
import {
  expectLeftAlone,
  expectNoTailInStreams,
  expectRedacted,
  secret,
} from '../../../test/helpers/scrub-cases.js';

describe('a secret told in a sentence', () => {
  const v = secret(20, 61);
  expectRedacted({
    'a reset mail': [`Your new password is: ${v}`, v],
    'a ticket': [`The client secret is ${v} until Friday.`, v],
    'a quoted value': [`the API key is "${v}"`, v],
    'set to': [`Admin password set to ${v}.`, v],
    'will be': [`Your temporary password will be ${v}.`, v],
    'a token was reset': [`The deploy token was reset to ${v}`, v],
  });
  expectLeftAlone({
    'a long word': 'The password is compromised and was rotated.',
    'a capitalised word': 'The token is Authentication-scoped.',
    'a state': 'Your token is expiring tomorrow; the secret is stored in Vault.',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder as a template writes it
    'a placeholder': 'The password is ${DB_PASSWORD} in production.',
  });
});

describe('a secret announced with what happened to it, or on a line below', () => {
  const v = secret(24, 65);
  const hex = secret(32, 66);
  expectRedacted({
    'a token created': [`Token created: ${v}`, v],
    'a generated password for an account': [`Generated password for admin: ${v}`, v],
    "elasticsearch's reset tool": [`Password for the [elastic] user successfully reset.\nNew value: ${v}`, v],
    'an account in brackets': [`password for user [elastic]: ${v}`, v],
    "Jenkins' initial admin password": [
      `Jenkins initial setup is required. Please use the following password to proceed to installation:\n\n${hex}\n\nThis may also be found at: /var/jenkins_home/secrets/initialAdminPassword`,
      hex,
    ],
    'an API key shown once, indented': [
      `Here is your API key. Store it safely, it will not be shown again:\n\n    ${v}\n`,
      v,
    ],
  });
  expectLeftAlone({
    'an event with no value': 'Token created: yes',
    'a sentence after the colon': 'Use the following password policy:\n\nAt least twelve characters.\n',
    'a list below the colon': 'Your token grants:\n\n- read access\n- write access\n',
  });
});

describe('a login in the URL of a scheme that logs in', () => {
  const v = secret(20, 62);
  expectRedacted({
    smtp: [`smtp://alerts:${v}@mail.example.com:587`, v],
    'ldap with a DN as the user': [`ldap://cn=admin:${v}@ldap.internal`, v],
    ssh: [`ssh://deploy:${v}@bastion.example.com:22`, v],
    'a websocket': [`wss://bot:${v}@stream.example.com/feed`, v],
    socks5h: [`ALL_PROXY=socks5h://proxy:${v}@10.0.0.2:1080`, v],
    'a token as the whole user part': [
      `git clone https://${secret(40, 63)}@github.com/org/repo`,
      secret(40, 63),
    ],
  });
  expectLeftAlone({
    "ssh's git user": 'git clone ssh://git@github.com/org/repo.git',
    'a user name alone': 'https://alice@example.com/dav/',
    'a host name before @': 'https://www.example-long-domain.com@evil.test/',
  });
});

describe('in a stream', () => {
  const v = secret(24, 64);
  const texts: Record<string, string> = {
    'a reset mail': `Hello,\n\nYour new password is: ${v}\n\nRegards\n`,
    'a token URL': `remote: https://${v}@github.com/org/repo\n`,
  };
  for (const [name, text] of Object.entries(texts)) {
    it(`redacts ${name} cut at every position and in small chunks`, () =>
      expectNoTailInStreams(text, v.slice(-8)));
  }
});
