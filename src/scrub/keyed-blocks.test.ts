/** A credential in a block under a key named for secrets, its own name otherwise: each went out bare on dcdf827. */
import { describe } from 'vitest';
import { expectLeftAlone, expectRedacted, secret } from '../../test/helpers/scrub-cases.js';

describe('a credential in a YAML block under a name for secrets', () => {
  const v = secret(20, 123);
  expectRedacted({
    "a map's child": [`secrets:\n  github: "${v}"\n  region: eu\n`, v],
    "a list's item": [`apiKeys:\n  - ${v}\n`, v],
    'a nested block': [`app:\n  credentials:\n    internal: ${v}\n  port: 8080\n`, v],
    'after a blank line inside the block': [`secrets:\n  a: short\n\n  b: ${v}\n`, v],
  });
  expectLeftAlone({
    "an LLM config's tokens": 'tokens:\n  max: 4096\n  model: gpt-4o-mini-2024-07-18\n',
    'a list of public keys':
      'public_keys:\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n',
    'the next key at the same depth':
      'secrets:\n  names: [a, b]\nimage: registry.example.com/app:2024-07-18-abc123\n',
  });
});

describe('a credential in an INI or TOML section under a name for secrets', () => {
  const v = secret(20, 124);
  expectRedacted({
    'an INI section': [`[credentials]\nprod = ${v}\n`, v],
    'a TOML table': [`[app.secrets]\ngithub = "${v}"\nregion = "eu"\n`, v],
  });
  expectLeftAlone({
    'an INI section of settings': '[server]\nhost = example.com\nport = 8080\n',
    "a credentials section's settings": '[credentials]\ntype = service_account\nproject = acme-prod\n',
  });
});
