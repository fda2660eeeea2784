/**
 * A setting whose name and value stand in separate syntax, not `name = value`: an XML element
 * named by an attribute (Java's properties XML `<entry key="jdbc.password">…</entry>`, Android's
 * `<string name="api_key">…</string>`), a plist's `<key>APIKey</key>` then `<string>…</string>`,
 * a Terraform variable's `default`, and a call that sets one (`os.Setenv("API_KEY", "…")`,
 * `System.setProperty("api.key", "…")`). Each went out bare on ab0cc7f.
 */
import { SECRET_NAME } from './config-shapes.js';
import { looksLikeSecretValue } from './generic.js';
import type { SecretRule } from './types.js';

/** A name holding a secret word, as settings write it (dots, colons, dashes and camel case: `api.key`). */
const NAMED = `[A-Za-z0-9_.:-]{0,40}${SECRET_NAME.replaceAll('[_-]', '[_.:-]')}[A-Za-z0-9_.:-]{0,40}`;

const secretValue = (value: string) => looksLikeSecretValue(value);

/** Whether any item of a list's text (`"a", "b"`) looks like a secret. */
const holdsSecret = (list: string) =>
  list.split(',').some((item) => secretValue(item.trim().replace(/^["'`]|["'`]$/g, '')));

export const namedSettingRules: readonly SecretRule[] = [
  {
    // The list is redacted whole: one group cannot name each item. Not `keys` (a JWKS's public
    // keys), and no objects in the list. A YAML block list (`tokens:` then `- …` lines) is not read.
    id: 'secret-name-list',
    spaces: true,
    description: 'a list of secrets under a plural secret name (tokens = ["…", "…"], "api_keys": [...])',
    anchors: ['tokens', 'secrets', 'passwords', 'apikeys', 'api_keys', 'api-keys', 'credentials'],
    anyCase: true,
    pattern: `(?:tokens|secrets|passwords|api[_-]?keys|credentials)["']?[ \\t]{0,4}(?::|=>?)[ \\t]{0,4}\\[[ \\t]{0,4}([^\\][{}\\r\\n]{8,2048})\\]`,
    group: 1,
    accept: holdsSecret,
    maxLength: 2100,
  },
  {
    id: 'xml-named-secret',
    spaces: true,
    spacesWithin: 160,
    description:
      'a secret in an XML element named by its key or name attribute (<entry key="jdbc.password">…</entry>)',
    anchors: [
      '<entry key="',
      '<string name="',
      '<item name="',
      '<property name="',
      '<setting name="',
      '<add name="',
    ],
    anyCase: true,
    pattern: `<(?:entry|string|item|property|setting|add)[ \\t]{1,4}(?:key|name)="${NAMED}"[^<>]{0,40}>[ \\t]{0,4}([^<\\s]{8,256})(?=</)`,
    group: 1,
    accept: secretValue,
  },
  {
    id: 'plist-secret',
    spaces: true,
    spacesWithin: 160,
    description: 'a secret in a property list (<key>APIKey</key> then <string>…</string>)',
    anchors: ['<key>'],
    anyCase: true,
    pattern: `<key>${NAMED}</key>\\s{0,40}<string>([^<\\s]{8,256})(?=</string>)`,
    group: 1,
    accept: secretValue,
  },
  {
    id: 'hcl-variable-default',
    spaces: true,
    spacesWithin: 340,
    maxLength: 600,
    description: 'a Terraform variable named for a secret, with its default value',
    anchors: ['variable "'],
    anyCase: true,
    pattern: `variable[ \\t]{1,4}"${NAMED}"[ \\t]{0,4}\\{[^{}]{0,200}?default[ \\t]{0,4}=[ \\t]{0,4}"([^"\\s]{8,256})"`,
    group: 1,
    accept: secretValue,
  },
  {
    id: 'env-set-call',
    spaces: true,
    spacesWithin: 130,
    description:
      'a secret set by a call that names it (os.Setenv("API_KEY", "…"), System.setProperty("api.key", "…"))',
    anchors: ['setenv(', 'setproperty(', 'putenv(', 'setdefault('],
    anyCase: true,
    pattern: `(?:setenv|setproperty|putenv|setdefault)\\([ \\t]{0,4}["']${NAMED}["'][ \\t]{0,4},[ \\t]{0,4}["']([^"'\\s]{8,256})(?=["'])`,
    group: 1,
    accept: secretValue,
  },
];
