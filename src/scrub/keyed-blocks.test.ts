/** A credential in a block under a key named for secrets, its own name otherwise: each went out bare on ed33a8e. */
import { describe, expect, it } from 'vitest';
import { expectLeftAlone, expectRedacted, secret } from '../../test/helpers/scrub-cases.js';
import { findEncoded } from './decoded.js';

describe('a credential in a YAML block under a name for secrets', () => {
  const v = secret(20, 123);
  expectRedacted({
    "a map's child": [`secrets:\n  github: "${v}"\n  region: eu\n`, v],
    "a list's item": [`apiKeys:\n  - ${v}\n`, v],
    'a nested block': [`app:\n  credentials:\n    internal: ${v}\n  port: 8080\n`, v],
    'after a blank line inside the block': [`secrets:\n  a: short\n\n  b: ${v}\n`, v],
    'a block with CRLF line ends': [`credentials:\r\n  prod: ${v}\r\n`, v],
    'a list of maps, the value on the line below its name': [
      `secrets:\n  - name: github\n    value: ${v}\n`,
      v,
    ],
    "a list item's own map": [`passwords:\n  - db: ${v}\n`, v],
    'a quoted key': [`"api_keys":\n  "openai": "${v}"\n`, v],
  });
  expectLeftAlone({
    "an LLM config's tokens": 'tokens:\n  max: 4096\n  model: gpt-4o-mini-2024-07-18\n',
    'a list of public keys':
      'public_keys:\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n',
    'the next key at the same depth':
      'secrets:\n  names: [a, b]\nimage: registry.example.com/app:2024-07-18-abc123\n',
    "a compose file's secrets, each a file": 'secrets:\n  db_password:\n    file: ./db_password.txt\n',
    "a workflow's secrets, each an expression":
      // Built from parts: the literal `${{` reads to the linter as a template string mistaken.
      [
        'secrets:',
        `  GITHUB_TOKEN: ${'$'}{{ secrets.GITHUB_TOKEN }}`,
        `  NPM: ${'$'}{{ secrets.NPM_TOKEN }}`,
        '',
      ].join('\n'),
    "a list of maps' names": 'secrets:\n  - name: github-app-private-key\n  - name: slack_webhook\n',
  });
});

describe('a credential in an INI or TOML section under a name for secrets', () => {
  const v = secret(20, 124);
  expectRedacted({
    'an INI section': [`[credentials]\nprod = ${v}\n`, v],
    'a TOML table': [`[app.secrets]\ngithub = "${v}"\nregion = "eu"\n`, v],
    'a section after a comment and a blank line': [`# prod\n\n[credentials]\n; the key\nprod = ${v}\n`, v],
    'a section at the very start, CRLF': [`[secrets]\r\ndb = ${v}\r\n`, v],
  });
  expectLeftAlone({
    'an INI section of settings': '[server]\nhost = example.com\nport = 8080\n',
    "a credentials section's settings": '[credentials]\ntype = service_account\nproject = acme-prod\n',
  });
});

describe('hostile blocks are read once (what the reader writes stays proportional to the text)', () => {
  const size = 256 * 1024;
  const v = secret(20, 125);
  const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  const texts: Record<string, string> = {
    'a block key per line': fill('secrets:\n'),
    'a block key and a child, repeated': fill(`secrets:\n  a: ${v}\n`),
    'blocks nested ever deeper': Array.from({ length: 400 }, (_, k) => `${' '.repeat(k)}secrets:\n`).join(''),
    'a section per line': fill('[secrets]\n'),
    'a section and a row, repeated': fill(`[credentials]\nprod = ${v}\n`),
  };
  for (const [name, text] of Object.entries(texts)) {
    it(name, () => {
      const runs = findEncoded(text);
      expect(runs.text.length).toBeLessThanOrEqual(2 * text.length);
      expect(runs.count).toBeLessThanOrEqual(text.length / 8);
    });
  }
});
