/**
 * Credentials whose name and value sit in two fields of one record, not in `name = value`: an
 * environment variable as Kubernetes, ECS and Azure print it (`{"name": "DB_PASSWORD", "value":
 * "…"}`, `- name: …` / `value: …`), a header or cookie in a HAR file, a parameter from SSM,
 * CloudFormation or Consul, a Terraform output (`"db_password": {"sensitive": true, "value":
 * "…"}`), a row of an HTML or Markdown table, a CSV or column-aligned listing. An agent reads these
 * from the infrastructure tools it is given (kubectl, terraform, cloud CLIs, browser tools), and
 * each went out bare: no rule saw a name next to its value. The value has no prefix, so each rule
 * is gated by entropy as the assignment rule is: `"value": "true"`, a path or a `${VAR}` stays.
 */
import { looksLikeSecretValue } from './generic.js';
import type { SecretRule } from './types.js';

/**
 * A word that makes a field's name a credential's (case is folded by each rule): also `pass`,
 * `pw` and `psk` as words of their own (`DB_PASS`, `SMTP_PW`; not `BYPASS_CACHE`, `PASSPORT`). Not
 * `cookie`: a Cookie header's value is a list, which the `cookie-header` rule reads whole.
 */
const SECRET_WORD =
  '(?:passw(?:or)?d|pwd|passphrase|secret|token|api[ _-]?key|access[ _-]?key|private[ _-]?key|auth[_-]?key|credential|authorization|sess|\\.sid|(?<![a-z])p(?:ass|w|sk)(?![a-z]))';

/** Fields that hold a record's value: `value`, and a secret manager's `raw` and `computed` (Doppler). */
const VALUE_NAME = '(?:value|raw|computed)';

/** The rest of a name field around that word: no quote, line break or structure. */
const NAME_REST = `[^"'\\r\\n,{}\\[\\]<>|]{0,48}`;

/** An optional quote, escaped in JSON that was itself put in a string (`\"name\": \"…\"`). */
const Q = `(?:\\\\{0,3}["'])?`;

/** A value: no whitespace, quotes, markup or structure (a backslash ends it: `\"` in escaped JSON). */
const VALUE = '([^\\s"\'`<>,;{}\\[\\]\\\\|]{8,256})';

/** An authorization scheme before a header's value (`"value": "Bearer …"`). */
const SCHEME = '(?:(?:basic|bearer|token|bot|apikey|digest) )?';

/**
 * Fields named for a value (not `valueFrom`, `defaultValue`), with their separator and quote, maybe
 * inside an object of their own (`"payload": {"data": …}`, GCP Secret Manager).
 */
const VALUE_FIELD = `(?:\\{[ \\t]{0,4})?(?<![A-Za-z0-9_])${Q}(?:value|parametervalue|secretvalue|data)${Q}[ \\t]{0,4}[:=][ \\t]{0,4}${Q}`;

/**
 * The record's other fields between a name and its value: not its end (`}`), nor another record
 * (`{`), but one flat array or object may stand there (`"tags": {}`, `"target": ["production"]`).
 */
const OTHER_FIELDS = '[^{}\\[\\]]{0,160}?(?:[\\[{][^{}\\[\\]]{0,80}[\\]}][^{}\\[\\]]{0,80}?)?';

const secretValue = (value: string) => looksLikeSecretValue(value);

export const pairedFieldRules: readonly SecretRule[] = [
  {
    id: 'name-value-pair',
    spaces: true,
    spacesWithin: 520,
    description:
      'a credential named in one field and given in the next (Kubernetes/ECS env, HAR headers, SSM and CloudFormation parameters)',
    // `name\\"`: the record in JSON put in a string (kubectl's last-applied-configuration).
    anchors: [
      '"name"',
      "'name'",
      'name\\"',
      'name:',
      'name =',
      'name  =',
      'name=',
      '"key"',
      "'key'",
      'key\\"',
      '"parameterkey"',
      '"variable"',
      '"label"',
    ],
    anyCase: true,
    // The other fields of the record may stand between (`"slotSetting": false`, SSM's `"Type"`).
    pattern: `(?<![A-Za-z0-9_])${Q}(?:name|key|parameterkey|variable|label)${Q}[ \\t]{0,4}[:=][ \\t]{0,4}${Q}${NAME_REST}?${SECRET_WORD}${NAME_REST}${Q}${OTHER_FIELDS}${VALUE_FIELD}${SCHEME}${VALUE}`,
    group: 1,
    accept: secretValue,
    maxLength: 780,
  },
  {
    id: 'value-name-pair',
    spaces: true,
    description:
      'a credential in a record named after its value ({"value": …, "name": "API_KEY"}) or under a secret name (terraform output -json, Doppler\'s raw and computed)',
    anchors: ['"value"', "'value'", '"raw"', "'raw'", '"computed"', "'computed'"],
    anyCase: true,
    // Either the record's name field follows the value, or the record is the value of a secret
    // name (`"db_password": {"sensitive": true, "type": "string", "value": …}`), read back.
    pattern: `["']${VALUE_NAME}["'][ \\t]{0,4}:[ \\t]{0,4}["'](?:(?<=${SECRET_WORD}[A-Za-z0-9_.-]{0,40}["']?[ \\t]{0,4}[:=][ \\t]{0,4}\\{[^{}\\[\\]]{0,160}["']${VALUE_NAME}["'][ \\t]{0,4}:[ \\t]{0,4}["'])|(?=[^\\s"'\`<>,;{}\\[\\]\\\\|]{8,256}["']${OTHER_FIELDS}["'](?:name|key|label)["'][ \\t]{0,4}:[ \\t]{0,4}["']${NAME_REST}?${SECRET_WORD}))${VALUE}`,
    group: 1,
    accept: secretValue,
    // The lookahead reads past the match: a stream holds that much after the anchor too.
    maxLength: 760,
    contextBefore: 250,
  },
  {
    id: 'secret-string-field',
    spaces: true,
    description:
      "a secret manager's answer: AWS Secrets Manager's SecretString (often JSON put in a string), SecretBinary",
    anchors: ['"secretstring"', '"secretbinary"'],
    anyCase: true,
    // The whole string, to its first unescaped quote: its JSON holds `\"` at every field.
    pattern: '"secret(?:string|binary)"[ \\t]{0,4}:[ \\t]{0,4}"([^\\r\\n]{4,4096}?)(?<!\\\\)"',
    group: 1,
    maxLength: 4130,
  },
  {
    id: 'table-label-cell',
    spaces: true,
    description: 'a credential in the cell after its label in an HTML table or definition list',
    anchors: ['</td>', '</th>', '</dt>'],
    anyCase: true,
    // From the label cell's end: the next cell is checked first, then the label read back for a
    // secret word (most cell ends in a page are not followed by one whose label is a secret's).
    // The value must be all of its cell.
    pattern: `</(?:t[dh]|dt)>\\s{0,8}<(?:td|dd)(?<=<(?:t[dh]|dt)(?:[ \\t][^<>]{0,64})?>[ \\t]{0,4}(?:<(?:b|strong|code|span|label|kbd)>[ \\t]{0,4})?[^<>\\r\\n]{0,48}${SECRET_WORD}[^<>\\r\\n]{0,48}(?:</(?:b|strong|code|span|label|kbd)>[ \\t]{0,4})?</(?:t[dh]|dt)>\\s{0,8}<(?:td|dd))(?:[ \\t][^<>]{0,64})?>\\s{0,4}(?:<(?:code|span|pre|kbd|samp|tt)(?:[ \\t][^<>]{0,64})?>\\s{0,4})?([^<>\\s]{8,256})(?=\\s{0,4}<)`,
    group: 1,
    accept: secretValue,
    contextBefore: 220,
  },
];
