/**
 * Credentials an agent reads from infrastructure tools in shapes where no `name = value` stands:
 * the name in one field and the value in another (Kubernetes, ECS, Azure, HAR, SSM,
 * CloudFormation, Consul, Terraform), the name listed beside the value (CSV, columns, tuples,
 * tables), JSON put inside a string, and the commands and files that set a secret. Each went out
 * bare before rules/paired-fields.ts and the config-shapes and assignment rules that go with it.
 */
import { describe, it } from 'vitest';
import {
  expectLeftAlone,
  expectNoTailInStreams,
  expectRedacted,
  secret,
} from '../../../test/helpers/scrub-cases.js';
import { createScrubber } from '../index.js';

const scrubber = createScrubber();

describe('a name in one field, its value in another', () => {
  const v = secret(24, 1);
  expectRedacted({
    'a Kubernetes env entry as JSON': [`{"env":[{"name":"DB_PASSWORD","value":"${v}"}]}`, v],
    'a Kubernetes env entry, kubectl -o json': [
      `"env": [\n  {\n    "name": "STRIPE_SECRET_KEY",\n    "value": "${v}"\n  }\n]`,
      v,
    ],
    'a Kubernetes env entry as YAML': [`    env:\n    - name: DB_PASSWORD\n      value: ${v}\n`, v],
    'a quoted YAML value': [`  - name: API_TOKEN\n    value: "${v}"\n`, v],
    'an ECS container environment': [`"environment": [{"name": "API_KEY", "value": "${v}"}]`, v],
    'Azure app settings, a field between': [
      `[{"name": "DB_PASSWORD", "slotSetting": false, "value": "${v}"}]`,
      v,
    ],
    'a HAR request header with its scheme': [`{"name": "Authorization", "value": "Bearer ${v}"}`, v],
    'a HAR x-api-key header': [`{"name":"x-api-key","value":"${v}"}`, v],
    'a HAR Cookie header, the secret cookie not first': [
      `{"name": "Cookie", "value": "theme=dark; sessionid=${v}; lang=en"}`,
      v,
    ],
    'a Cookie header as a YAML list entry': [
      `headers:\n- name: cookie\n  value: theme=dark; sessionid=${v}\n`,
      v,
    ],
    'a HAR cookie': [`"cookies": [{"name": "sessionid", "value": "${v}", "path": "/"}]`, v],
    'an SSM parameter': [
      `{"Parameter": {"Name": "/prod/db/password", "Type": "SecureString", "Value": "${v}", "Version": 3}}`,
      v,
    ],
    'a CloudFormation parameter': [`{"ParameterKey": "DBPassword", "ParameterValue": "${v}"}`, v],
    'a Consul key': [`[{"LockIndex": 0, "Key": "app/db/password", "Flags": 0, "Value": "${v}"}]`, v],
    'an HCL env block': [`env {\n  name  = "DB_PASSWORD"\n  value = "${v}"\n}`, v],
    "AWS Secrets Manager's SecretString, JSON in a string": [
      `{"Name": "prod/db", "SecretString": "{\\"username\\":\\"admin\\",\\"password\\":\\"${v}\\"}", "VersionStages": ["AWSCURRENT"]}`,
      v,
    ],
    'a SecretString that is the secret itself': [`{"Name": "prod/stripe", "SecretString": "${v}"}`, v],
    'az keyvault secret show, tags between': [
      `{"id": "https://kv.vault.azure.net/secrets/db-password/1", "name": "db-password", "tags": {}, "value": "${v}"}`,
      v,
    ],
    'a 1Password field by its label': [
      `"fields": [{"id": "pw", "type": "CONCEALED", "label": "password", "value": "${v}", "reference": "op://x"}]`,
      v,
    ],
    'a Vercel env var, an array between value and key': [
      `{"type": "encrypted", "value": "${v}", "target": ["production"], "key": "DATABASE_PASSWORD"}`,
      v,
    ],
    'a GitLab CI variable': [`[{"variable_type":"env_var","key":"AWS_SECRET_ACCESS_KEY","value":"${v}"}]`, v],
    "GCP Secret Manager's payload": [
      `{"name": "projects/p/secrets/db-password/versions/1", "payload": {"data": "${Buffer.from(v).toString('base64')}"}}`,
      Buffer.from(v).toString('base64'),
    ],
    'the value before its name': [`{"value": "${v}", "name": "DB_PASSWORD"}`, v],
    'terraform output -json': [`{"db_password": {"sensitive": true, "type": "string", "value": "${v}"}}`, v],
    'an assignment in JSON in a string': [`{"body": "{\\"password\\": \\"${v}\\"}"}`, v],
    'JSON in a string in a string': [`"{\\\\\\"api_key\\\\\\": \\\\\\"${v}\\\\\\"}"`, v],
    "an env entry in kubectl's last-applied-configuration (JSON in a string)": [
      `"last-applied-configuration": "{\\"env\\":[{\\"name\\":\\"DB_PASSWORD\\",\\"value\\":\\"${v}\\"}]}"`,
      v,
    ],
  });
  expectLeftAlone({
    'a value taken from a Secret': `{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}`,
    'a HAR Cookie header of preferences': '{"name": "Cookie", "value": "theme=dark; lang=en"}',
    'a setting that is not a secret': '{"name": "LOG_LEVEL", "value": "debug"}',
    "a secret's setting that is a number": '{"name": "TOKEN_TTL_SECONDS", "value": "3600"}',
    'a header that is not a credential': '{"value": "application/json", "name": "Content-Type"}',
    'an output that is not a secret': '{"instance_id": {"sensitive": false, "value": "i-0abc12345def67890"}}',
    'a secret name with a variable for its value': '- name: API_TOKEN\n  value: $(API_TOKEN)\n',
  });
});

describe('a name listed beside its value', () => {
  const v = secret(28, 2);
  expectRedacted({
    'a CSV row': [`name,value\nDB_PASSWORD,${v}\n`, v],
    'a quoted CSV row': [`"STRIPE_SECRET","${v}"\n`, v],
    'a TSV row': [`DB_PASSWORD\t${v}\n`, v],
    'aligned columns': [`DB_PASSWORD     ${v}\nLOG_LEVEL       debug\n`, v],
    'heroku config': [`=== app Config Vars\nJWT_SECRET:        ${v}\nPORT:              8080\n`, v],
    'a tuple': [`[("DB_PASSWORD", "${v}"), ("PATH", "/usr/bin")]`, v],
    'kubectl describe configmap': [`Data\n====\nDB_PASSWORD:\n----\n${v}\n`, v],
    'a YAML value on the next line': [`database:\n  password:\n    ${v}\n`, v],
    'a YAML block scalar': [`password: |\n  ${v}\n`, v],
    'a Markdown table row': [`| Name | Value |\n|---|---|\n| API key | \`${v}\` |\n`, v],
    'a Markdown row of a variable': [`| DB_PASSWORD | ${v} |`, v],
    'a Markdown row with a bold label': [`| **Client secret** | ${v} |`, v],
    'an HTML table row': [`<tr><td>client_secret</td><td>${v}</td></tr>`, v],
    'an HTML header cell and a code cell': [`<tr><th>API key</th><td><code>${v}</code></td></tr>`, v],
    'a definition list': [`<dl><dt><strong>Password</strong></dt>\n  <dd>${v}</dd></dl>`, v],
  });
  expectLeftAlone({
    'a CSV header': 'name,password,email\nbob,,bob@example.com\n',
    'aligned numbers': 'TOKEN_COUNT    12\nPASSWORD_MIN   8\n',
    'prose after a key name':
      'The token budget for this run is spent, so the agent stopped and reported back.',
    'a Markdown table of rules':
      '| Setting | Rule |\n|---|---|\n| Password | at least 12 characters |\n| Token | expires in 30 days |\n',
    'a table of policies': '<tr><td>Password</td><td>Changed 3 days ago</td></tr>',
    'a cell that is a sentence': '<tr><td>Token</td><td>Expires in 30 days</td></tr>',
  });
});

describe('commands and files that set a secret', () => {
  const v = secret(22, 3);
  expectRedacted({
    "Postgres ALTER USER … PASSWORD '…'": [`ALTER USER app WITH PASSWORD '${v}';`, v],
    "CREATE ROLE … PASSWORD '…'": [`CREATE ROLE app LOGIN PASSWORD '${v}'`, v],
    "MySQL IDENTIFIED BY '…'": [`CREATE USER 'app'@'%' IDENTIFIED BY '${v}';`, v],
    "IDENTIFIED WITH a plugin BY '…'": [
      `ALTER USER 'app'@'%' IDENTIFIED WITH mysql_native_password BY '${v}'`,
      v,
    ],
    "MySQL SET PASSWORD … = PASSWORD('…')": [`SET PASSWORD FOR 'root'@'localhost' = PASSWORD('${v}');`, v],
    "MySQL SET PASSWORD = '…'": [`SET PASSWORD = '${v}';`, v],
    'a .netrc line': [`machine api.example.com login bob password ${v}\n`, v],
    'a .netrc entry over lines': [`machine api.example.com\n  login bob\n  password ${v}\n`, v],
    'gh secret set --body': [`gh secret set DEPLOY_TOKEN --repo acme/app --body "${v}"`, v],
    'aws secretsmanager --secret-string': [
      `aws secretsmanager create-secret --name prod/db --secret-string ${v}`,
      v,
    ],
    'aws ssm put-parameter --value': [
      `aws ssm put-parameter --name /prod/db/password --type SecureString --value ${v}`,
      v,
    ],
    'az keyvault secret set --value': [`az keyvault secret set --vault-name kv --name db --value ${v}`, v],
    setx: [`setx API_TOKEN "${v}"`, v],
    'fish set -gx': [`set -gx OPENAI_API_KEY ${v}`, v],
    'dotnet user-secrets set': [`dotnet user-secrets set "Stripe:SecretKey" "${v}"`, v],
    'a Docker config login': [
      `{"auths": {"registry.example": {"auth": "${Buffer.from(`ci:${v}`).toString('base64')}"}}}`,
      Buffer.from(`ci:${v}`).toString('base64'),
    ],
    "a GitHub Actions log's ::add-mask::": [`::add-mask::${v}\n`, v],
  });
  expectLeftAlone({
    'a .netrc entry with a variable': 'machine api.example.com login bob password $NETRC_PASSWORD',
    'gh secret set from a file': 'gh secret set DEPLOY_TOKEN < token.txt',
    'a Docker config auth that is no login': '{"auth": "dXNlcm5hbWVvbmx5"}',
    'set -gx with a variable': 'set -gx API_TOKEN $API_TOKEN_FROM_VAULT',
    'an add-mask of an expression': '::add-mask::$' + '{{ steps.token.outputs.value }}',
    'prose about identified users': 'Users are identified by their email address.',
  });
});

describe('in a stream', () => {
  // Rules that read back before their anchor (a line's start, a cell's `|` or tag, the object a
  // value is in): a stream holds that context with the candidate, or the next scan lacks it.
  const v = secret(24, 5);
  const readBack: Record<string, string> = {
    'a Markdown table row': `| Name | Value |\n|---|---|\n| API key | \`${v}\` |\n`,
    'a CSV row': `name,value\nDB_PASSWORD,${v}\n`,
    'aligned columns': `=== app Config Vars\nJWT_SECRET:        ${v}\nPORT:              8080\n`,
    'an HTML table row': `<table><tr><td>Client secret</td><td><code>${v}</code></td></tr></table>`,
    'terraform output -json': `{"db_password": {"sensitive": true, "type": "string", "value": "${v}"}}`,
  };
  for (const [name, text] of Object.entries(readBack)) {
    it(`redacts ${name} cut at every position and in small chunks`, () =>
      expectNoTailInStreams(text, v.slice(-8), scrubber));
  }
  it('redacts a JSON Web Key cut at every position and in small chunks', () => {
    const d = 'fW9yZ2FuaXplZC1rZXktbWF0ZXJpYWwtZm9yLXRlc3Rz';
    const jwk = `{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"${d}"}`;
    expectNoTailInStreams(jwk, d.slice(-8), scrubber);
  });

  it('redacts a Kubernetes env entry cut at every position and in small chunks', () => {
    const value = secret(24, 4);
    const text = `{"env":[{"name":"DB_PASSWORD","value":"${value}"},{"name":"PORT","value":"8080"}]}`;
    expectNoTailInStreams(text, value.slice(-8), scrubber);
  });
});
