/**
 * gitleaks' keyword rules (config/gitleaks.toml, github.com/gitleaks/gitleaks,
 * MIT licence): a provider's name, an assignment, then a value of a fixed
 * shape — `TWILIO_SECRET = "…"`, `"sentry_token": "…"`. gitleaks finds these
 * with one unanchored regex per rule; here the provider's name is the anchor
 * of the engine's Aho–Corasick pass (any case), and the rest runs once, sticky,
 * at each hit: the name, up to 20 identifier characters (`_API_KEY`), up to 3
 * quotes or spaces, an assignment operator (`=`, `:`, `:=`, `=>`, `||`, `,`…),
 * up to 5 quotes/spaces, then the value, which alone is redacted. Unlike
 * gitleaks, a backslash may stand among the quotes, so the same assignment
 * inside JSON-escaped text (`{\"twilio_key\":\"…\"}`) still matches.
 *
 * The table is generated from gitleaks' config (keyword group and value
 * regex of each rule, `(?i)` as the engine's any-case, unbounded `+` bounded),
 * and `test/scrub/gitleaks-coverage.test.ts` checks it against samples that
 * match gitleaks' own regexes. Where gitleaks gates on entropy the same floor
 * applies; elsewhere a floor of 2.5 bits and a placeholder check keep
 * `twilio_key = "xxxxxxxx…"` and `your_api_key_here` readable.
 */
import { shannonEntropy } from '../entropy.js';
import type { SecretRule } from './types.js';

/** [our id, anchor(s), keyword regex, value regex, gitleaks' entropy floor]. */
type KeyedRow = readonly [string, string | readonly string[], string, string, number?];

const ROWS: readonly KeyedRow[] = [
  ['adafruit-api-key', 'adafruit', 'adafruit', '[a-z0-9_-]{32}'],
  ['adobe-client-id', 'adobe', 'adobe', '[a-f0-9]{32}', 2],
  ['airtable-api-key', 'airtable', 'airtable', '[a-z0-9]{17}'],
  ['algolia-api-key', 'algolia', 'algolia', '[a-z0-9]{32}'],
  ['alibaba-secret-key', 'alibaba', 'alibaba', '[a-z0-9]{30}', 2],
  ['asana-client-id', 'asana', 'asana', '[0-9]{16}'],
  ['asana-client-secret', 'asana', 'asana', '[a-z0-9]{32}'],
  [
    'atlassian-keyed-token',
    ['atlassian', 'confluence', 'jira'],
    'atlassian|confluence|jira',
    '[a-z0-9]{20}[a-f0-9]{4}',
    3.5,
  ],
  ['beamer-api-token', 'beamer', 'beamer', 'b_[a-z0-9=_\\-]{44}'],
  ['bitbucket-client-id', 'bitbucket', 'bitbucket', '[a-z0-9]{32}'],
  ['bitbucket-client-secret', 'bitbucket', 'bitbucket', '[a-z0-9=_\\-]{64}'],
  ['bittrex-access-key', 'bittrex', 'bittrex', '[a-z0-9]{32}'],
  ['cisco-meraki-api-key', 'meraki', 'meraki', '[0-9a-f]{40}', 3],
  ['cloudflare-api-key', 'cloudflare', 'cloudflare', '[a-z0-9_-]{40}', 2],
  ['cloudflare-global-api-key', 'cloudflare', 'cloudflare', '[a-f0-9]{37}', 2],
  ['codecov-access-token', 'codecov', 'codecov', '[a-z0-9]{32}'],
  ['cohere-api-token', ['cohere', 'co_api_key'], 'cohere|co_api_key', '[a-zA-Z0-9]{40}', 4],
  ['coinbase-access-token', 'coinbase', 'coinbase', '[a-z0-9_-]{64}'],
  ['confluent-access-token', 'confluent', 'confluent', '[a-z0-9]{16}'],
  ['confluent-secret-key', 'confluent', 'confluent', '[a-z0-9]{64}'],
  ['contentful-delivery-api-token', 'contentful', 'contentful', '[a-z0-9=_\\-]{43}'],
  ['datadog-access-token', 'datadog', 'datadog', '[a-z0-9]{40}'],
  ['discord-api-token', 'discord', 'discord', '[a-f0-9]{64}'],
  ['discord-client-id', 'discord', 'discord', '[0-9]{18}', 2],
  ['discord-client-secret', 'discord', 'discord', '[a-z0-9=_\\-]{32}', 2],
  ['droneci-access-token', 'droneci', 'droneci', '[a-z0-9]{32}'],
  ['dropbox-api-token', 'dropbox', 'dropbox', '[a-z0-9]{15}'],
  ['dropbox-long-lived-api-token', 'dropbox', 'dropbox', '[a-z0-9]{11}(?:AAAAAAAAAA)[a-z0-9\\-_=]{43}'],
  ['dropbox-short-lived-api-token', 'dropbox', 'dropbox', 'sl\\.[a-z0-9\\-=_]{135}'],
  ['etsy-access-token', 'etsy', 'etsy', '[a-z0-9]{24}', 3],
  ['facebook-secret', 'facebook', 'facebook', '[a-f0-9]{32}', 3],
  ['fastly-api-token', 'fastly', 'fastly', '[a-z0-9=_\\-]{32}'],
  ['finicity-api-token', 'finicity', 'finicity', '[a-f0-9]{32}'],
  ['finicity-client-secret', 'finicity', 'finicity', '[a-z0-9]{20}'],
  ['finnhub-access-token', 'finnhub', 'finnhub', '[a-z0-9]{20}'],
  ['flickr-access-token', 'flickr', 'flickr', '[a-z0-9]{32}'],
  ['freshbooks-access-token', 'freshbooks', 'freshbooks', '[a-z0-9]{64}'],
  ['gitter-access-token', 'gitter', 'gitter', '[a-z0-9_-]{40}'],
  ['gocardless-api-token', 'gocardless', 'gocardless', 'live_[a-z0-9\\-_=]{40}'],
  [
    'hashicorp-tf-password',
    ['administrator_login_password', 'password'],
    'administrator_login_password|password',
    '"[a-z0-9=_\\-]{8,20}"',
    2,
  ],
  [
    'heroku-legacy-api-key',
    'heroku',
    'heroku',
    '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  ],
  ['hubspot-api-key', 'hubspot', 'hubspot', '[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}'],
  ['intercom-api-key', 'intercom', 'intercom', '[a-z0-9=_\\-]{60}'],
  [
    'jfrog-api-key',
    ['jfrog', 'artifactory', 'bintray', 'xray'],
    'jfrog|artifactory|bintray|xray',
    '[a-z0-9]{73}',
  ],
  [
    'jfrog-identity-token',
    ['jfrog', 'artifactory', 'bintray', 'xray'],
    'jfrog|artifactory|bintray|xray',
    '[a-z0-9]{64}',
  ],
  ['kraken-access-token', 'kraken', 'kraken', '[a-z0-9\\/=_\\+\\-]{80,90}'],
  ['kucoin-access-token', 'kucoin', 'kucoin', '[a-f0-9]{24}'],
  ['kucoin-secret-key', 'kucoin', 'kucoin', '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'],
  ['launchdarkly-access-token', 'launchdarkly', 'launchdarkly', '[a-z0-9=_\\-]{40}'],
  ['linear-client-secret', 'linear', 'linear', '[a-f0-9]{32}', 2],
  ['linkedin-client-id', ['linkedin', 'linked_in', 'linked-in'], 'linked[_-]?in', '[a-z0-9]{14}', 2],
  ['linkedin-client-secret', ['linkedin', 'linked_in', 'linked-in'], 'linked[_-]?in', '[a-z0-9]{16}', 2],
  ['lob-api-key', 'lob', 'lob', '(?:live|test)_[a-f0-9]{35}'],
  ['lob-pub-api-key', 'lob', 'lob', '(?:test|live)_pub_[a-f0-9]{31}'],
  ['looker-client-id', 'looker', 'looker', '[a-z0-9]{20}'],
  ['looker-client-secret', 'looker', 'looker', '[a-z0-9]{24}'],
  ['mailchimp-api-key', 'mailchimp', 'mailchimp(?:SDK\\.initialize)?', '[a-f0-9]{32}-us\\d\\d'],
  ['mailgun-pub-key', 'mailgun', 'mailgun', 'pubkey-[a-f0-9]{32}'],
  ['mailgun-signing-key', 'mailgun', 'mailgun', '[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}'],
  ['mapbox-api-token', 'mapbox', 'mapbox', 'pk\\.[a-z0-9]{60}\\.[a-z0-9]{22}'],
  ['mattermost-access-token', 'mattermost', 'mattermost', '[a-z0-9]{26}'],
  [
    'messagebird-api-token',
    ['messagebird', 'message_bird', 'message-bird'],
    'message[_-]?bird',
    '[a-z0-9]{25}',
  ],
  [
    'messagebird-client-id',
    ['messagebird', 'message_bird', 'message-bird'],
    'message[_-]?bird',
    '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  ],
  ['netlify-access-token', 'netlify', 'netlify', '[a-z0-9=_\\-]{40,46}'],
  ['new-relic-user-api-id', ['new-relic', 'newrelic', 'new_relic'], 'new[_-]?relic', '[a-z0-9]{64}'],
  ['new-relic-user-api-key', ['new-relic', 'newrelic', 'new_relic'], 'new[_-]?relic', 'NRAK-[a-z0-9]{27}'],
  [
    'nytimes-access-token',
    ['nytimes', 'new-york-times', 'newyorktimes'],
    'nytimes|new-york-times|newyorktimes',
    '[a-z0-9=_\\-]{32}',
  ],
  ['okta-access-token', 'okta', 'okta', '00[\\w=\\-]{40}', 4],
  ['plaid-client-id', 'plaid', 'plaid', '[a-z0-9]{24}', 3.5],
  ['plaid-secret-key', 'plaid', 'plaid', '[a-z0-9]{30}', 3.5],
  ['privateai-api-token', ['privateai', 'private_ai', 'private-ai'], 'private[_-]?ai', '[a-z0-9]{32}', 3],
  ['rapidapi-access-token', 'rapidapi', 'rapidapi', '[a-z0-9_-]{50}'],
  [
    'sendbird-access-id',
    'sendbird',
    'sendbird',
    '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  ],
  ['sendbird-access-token', 'sendbird', 'sendbird', '[a-f0-9]{40}'],
  ['sentry-access-token', 'sentry', 'sentry', '[a-f0-9]{64}', 3],
  [
    'sidekiq-secret',
    ['bundle_enterprise__contribsys__com', 'bundle_gems__contribsys__com'],
    'bundle_(?:enterprise|gems)__contribsys__com',
    '[a-f0-9]{8}:[a-f0-9]{8}',
  ],
  [
    'snyk-api-token',
    'snyk',
    'snyk[_.-]?(?:(?:api|oauth)[_.-]?)?(?:key|token)',
    '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  ],
  ['sonar-api-token', 'sonar', 'sonar[_.-]?(?:login|token)', '(?:squ_|sqp_|sqa_)?[a-z0-9=_\\-]{40}'],
  [
    'squarespace-access-token',
    'squarespace',
    'squarespace',
    '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
  ],
  ['sumologic-access-id', 'sumo', 'sumo', 'su[a-zA-Z0-9]{12}', 3],
  ['sumologic-access-token', 'sumo', 'sumo', '[a-z0-9]{64}', 3],
  ['telegram-bot-api-token', 'telegr', 'telegr', '[0-9]{5,16}:A[a-z0-9_\\-]{34}'],
  ['travisci-access-token', 'travis', 'travis', '[a-z0-9]{22}'],
  ['twitch-api-token', 'twitch', 'twitch', '[a-z0-9]{30}'],
  ['twitter-access-secret', 'twitter', 'twitter', '[a-z0-9]{45}'],
  ['twitter-access-token', 'twitter', 'twitter', '[0-9]{15,25}-[a-zA-Z0-9]{20,40}'],
  ['twitter-api-key', 'twitter', 'twitter', '[a-z0-9]{25}'],
  ['twitter-api-secret', 'twitter', 'twitter', '[a-z0-9]{50}'],
  ['twitter-bearer-token', 'twitter', 'twitter', 'A{22}[a-zA-Z0-9%]{80,100}'],
  [
    'yandex-access-token',
    'yandex',
    'yandex',
    't1\\.[A-Z0-9a-z_-]{1,256}[=]{0,2}\\.[A-Z0-9a-z_-]{86}[=]{0,2}',
  ],
  ['yandex-aws-access-token', 'yandex', 'yandex', 'YC[a-zA-Z0-9_\\-]{38}'],
  ['zendesk-secret-key', 'zendesk', 'zendesk', '[a-z0-9]{40}'],
];

const DEFAULT_ENTROPY = 2.5;
const PLACEHOLDER = /x{4}|\*{3}|\$\{|\{\{|<[a-z]|your|example|changeme|placeholder|dummy|redacted/i;

function accept(floor: number, digits: boolean): (value: string) => boolean {
  // A random value of 12+ characters drawn from a class with digits almost surely holds one; a
  // word-like placeholder rarely does.
  return (value) =>
    shannonEntropy(value) >= floor &&
    !PLACEHOLDER.test(value) &&
    (!digits || value.length < 12 || /[0-9]/.test(value));
}

/** Longest keyword + separator + operator + quotes before the value. */
const LEAD = 80;

function keyed([id, anchors, keyword, value, entropy]: KeyedRow): SecretRule {
  const digits = /0-9|\\d/.test(value) && !/^"/.test(value);
  return {
    id,
    description: `gitleaks ${id}: a value assigned to a name containing ${keyword.replace(/\\/g, '')}`,
    anchors: typeof anchors === 'string' ? [anchors] : anchors,
    anyCase: true,
    spaces: true,
    spacesWithin: LEAD,
    pattern:
      `(?:${keyword})[ \\t\\w.-]{0,20}[\\s'"\\\\]{0,3}(?:=|>|:{1,3}=|\\|\\||:|=>|\\?=|,)[\`'"\\s=\\\\]{0,5}` +
      `(${value})(?![^\`'"\\s;\\\\&])`,
    group: 1,
    accept: accept(entropy ?? DEFAULT_ENTROPY, digits),
    maxLength: 512,
  };
}

export const gitleaksKeyedRules: readonly SecretRule[] = ROWS.map(keyed);
