/** Settings whose name and value stand in separate syntax: each went out bare on ab0cc7f. */
import { describe } from 'vitest';
import { expectLeftAlone, expectRedacted, secret } from '../../../test/helpers/scrub-cases.js';

describe('a setting named in one place and given in another', () => {
  const v = secret(22, 161);
  expectRedacted({
    "Java's properties XML": [`<entry key="jdbc.password">${v}</entry>`, v],
    "Android's strings.xml": [`<string name="google_maps_api_key">${v}</string>`, v],
    "a Spring bean's property": [`<property name="clientSecret">${v}</property>`, v],
    "a plist's key and string": [`  <key>APIKey</key>\n  <string>${v}</string>`, v],
    "a Terraform variable's default": [
      `variable "db_password" {\n  type    = string\n  default = "${v}"\n}`,
      v,
    ],
    "Go's os.Setenv": [`os.Setenv("GITHUB_TOKEN", "${v}")`, v],
    "Java's System.setProperty": [`System.setProperty("api.key", "${v}")`, v],
    "PHP's putenv": [`putenv('DB_PASSWORD', '${v}');`, v],
    'a subscript assignment (Python)': [`os.environ["OPENAI_API_KEY"] = "${v}"`, v],
    'a subscript assignment (Ruby)': [`ENV['SECRET_KEY_BASE'] = '${v}'`, v],
    'a subscript assignment (PHP)': [`$config['db_password'] = '${v}';`, v],
    'a list of tokens (Python)': [`tokens = ["${v}", "${v}b"]`, v],
    'a JSON list of API keys': [`{"api_keys": ["${v}"], "region": "eu"}`, v],
    "the second of a list's secrets": [`SECRETS=[short, "${v}"]`, v],
    'a macOS keychain password': [`security add-generic-password -a me -s svc -w ${v}`, v],
    'launchctl setenv': [`launchctl setenv GITHUB_TOKEN ${v}`, v],
  });
  expectLeftAlone({
    'a string resource that is text': '<string name="password_hint">Enter your password here</string>',
    'a plist key that is no secret': '<key>CFBundleName</key>\n<string>MyApplication</string>',
    'a variable without a default': 'variable "db_password" {\n  type      = string\n  sensitive = true\n}',
    'a setenv from a variable': 'os.Setenv("API_KEY", apiKey)',
    "a tokenizer's special tokens": '"special_tokens": ["<s>", "</s>", "<unk>"]',
    'a list of secret names': 'secrets: [DB_PASSWORD, API_KEY]',
    'a JWKS':
      '{"keys": [{"kty": "RSA", "e": "AQAB", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}]}',
  });
});

describe('a secret handed to a command that stores it', () => {
  const v = secret(22, 162);
  expectRedacted({
    'echo into a token file': [`echo "${v}" > ~/.vault-token`, v],
    'echo appended to a credentials file': [`echo ${v} >> ~/.config/app/credentials`, v],
    'vercel env add from a here-string': [`vercel env add API_KEY production <<< "${v}"`, v],
    'vercel env add from a pipe': [`echo -n ${v} | vercel env add API_KEY production`, v],
    'dotnet user-secrets set': [`dotnet user-secrets set "Api:Key" "${v}"`, v],
  });
  expectLeftAlone({
    'echo into a log': 'echo "deploy finished in 42s" >> deploy.log',
    'echo of a variable into a token file': 'echo "$VAULT_TOKEN" > ~/.vault-token',
  });
});
