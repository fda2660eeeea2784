/**
 * The rest of gitleaks' token rules (config/gitleaks.toml, MIT licence) that
 * no other rule file covers: prefix tokens found since, tokens whose literal
 * part is a suffix or sits in the middle (`…_mmk`, `…Q~…`: the match starts a
 * fixed `before` characters ahead of the anchor), and assignments of a
 * specific shape (NuGet config, Freemius, `curl -u`). Each keeps gitleaks'
 * token shape, with unbounded repeats bounded for the regex-safety lint.
 */
import { shannonEntropy } from '../entropy.js';
import { L, prefixed, R, type SecretRule } from './types.js';

const AN = 'A-Za-z0-9';

export const gitleaksMoreRules: readonly SecretRule[] = [
  {
    id: 'airtable-personal-access-token',
    description: 'Airtable personal access token (pat + 14 + . + 64 hex)',
    anchors: ['pat'],
    pattern: `${L}pat[${AN}]{14}\\.[a-f0-9]{64}${R}`,
  },
  {
    id: 'authress-access-key',
    description: 'Authress service client access key (sc_/ext_/scauth_/authress_ … .acc…)',
    anchors: ['sc_', 'ext_', 'scauth_', 'authress_'],
    pattern: `${L}(?:sc|ext|scauth|authress)_[${AN}]{5,30}\\.[${AN}]{4,6}\\.acc[_-][${AN}-]{10,32}\\.[${AN}+/_=-]{30,120}(?![${AN}+/_=-])`,
    accept: (value) => shannonEntropy(value) >= 2,
  },
  {
    id: 'azure-ad-client-secret',
    description: 'Azure AD client secret (3 characters, a digit, Q~, 31-34 more)',
    anchors: ['Q~'],
    before: 4,
    beforeChar: /[A-Za-z0-9_~.]/,
    pattern: '(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])',
    accept: (value) => shannonEntropy(value) >= 3,
  },
  {
    id: 'facebook-access-token',
    // gitleaks also takes `%` for the bar: `%7C` (URL-encoded) is decoded and scanned (decoded.ts),
    // and `%` as an anchor would run this rule at every escape of every URL.
    description: 'Facebook app access token (15-16 digit app id | secret)',
    anchors: ['|'],
    before: 15,
    beforeChar: /[0-9]/,
    pattern: '[0-9]{15}\\|[0-9A-Za-z_-]{27,40}(?![0-9A-Za-z_-])',
    accept: (value) => shannonEntropy(value.slice(16)) >= 3,
  },
  prefixed(
    'flutterwave-encryption-key',
    'Flutterwave test encryption key (FLWSECK_TEST- + 12)',
    'FLWSECK_TEST-',
    '[a-hA-H0-9]{12}',
  ),
  prefixed(
    'flutterwave-public-key',
    'Flutterwave test public key (FLWPUBK_TEST- + 32 + -X)',
    'FLWPUBK_TEST-',
    '[a-hA-H0-9]{32}-X',
  ),
  {
    id: 'freemius-secret-key',
    description: "Freemius secret key in PHP config ('secret_key' => 'sk_…')",
    anchors: ['secret_key'],
    anyCase: true,
    spaces: true,
    spacesWithin: 40,
    pattern: 'secret_key["\']\\s{0,8}=>\\s{0,8}["\'](sk_\\S{29})["\']',
    group: 1,
  },
  {
    id: 'maxmind-license-key',
    description: 'MaxMind license key (6 + _ + 29 + _mmk)',
    anchors: ['_mmk'],
    before: 36,
    beforeChar: /[A-Za-z0-9_]/,
    pattern: `${L}[${AN}]{6}_[${AN}]{29}_mmk${R}`,
    accept: (value) => shannonEntropy(value) >= 4,
  },
  {
    id: 'nuget-config-password',
    description: 'password in a NuGet config (<add key="ClearTextPassword" value="…" />)',
    anchors: ['<add key='],
    anyCase: true,
    spaces: true,
    spacesWithin: 64,
    pattern: '<add key="(?:ClearText)?Password"\\s{0,8}value="([^"\\s]{8,256})"',
    group: 1,
    accept: (value) => shannonEntropy(value) >= 1,
  },
  {
    id: 'curl-auth-user',
    description: 'user:password given to curl -u / --user',
    anchors: ['-u ', '-u=', '-u"', "-u'", '--user ', '--user='],
    spaces: true,
    spacesWithin: 16,
    pattern: '(?:-u|--user)(?:=|[ \\t]{1,5})?["\']?([^\\s"\':]{1,128}:[^\\s"\']{3,256})',
    group: 1,
    // `docker run -u 1000:1000`, `-u $USER:$PASS`: ids and variables, not credentials.
    // `date -u +%H:%M:%S`: a format (a user name starts with no `+`).
    accept: (value) => {
      const password = value.slice(value.indexOf(':') + 1);
      return (
        !value.startsWith('+') &&
        !/^[0-9]+$|^\$|^<|^\{\{|^x{3,}$|^\*+$/i.test(password) &&
        shannonEntropy(password) >= 2
      );
    },
  },
  {
    id: 'slack-config-access-token',
    description: 'Slack configuration access token (xoxe.xoxb-, xoxe.xoxp-)',
    anchors: ['xoxe.xoxb-', 'xoxe.xoxp-'],
    pattern: `${L}xoxe\\.xox[bp]-[0-9]-[A-Za-z0-9]{163,166}${R}`,
  },
  prefixed(
    'slack-config-refresh-token',
    'Slack configuration refresh token (xoxe- + digit + 146)',
    'xoxe-',
    `[0-9]-[${AN}]{146}`,
  ),
  prefixed(
    'slack-legacy-bot-token',
    'Slack legacy bot token (xoxb- + 8-14 digits + 18-26)',
    'xoxb-',
    `[0-9]{8,14}-[${AN}]{18,26}`,
  ),
];
