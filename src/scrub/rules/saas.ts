/** Chat, messaging and SaaS API credentials, from the published formats. */
import { L, prefixed, R, RU, type SecretRule } from './types.js';

export const saasRules: readonly SecretRule[] = [
  prefixed(
    'slack-bot-token',
    'Slack bot token (xoxb-)',
    'xoxb-',
    '[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}',
  ),
  prefixed(
    'slack-user-token',
    'Slack user token (xoxp-)',
    'xoxp-',
    '[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{28,34}',
  ),
  prefixed(
    'slack-app-token',
    'Slack app-level token (xapp-)',
    'xapp-',
    '[0-9]-[A-Z0-9]{9,12}-[0-9]{10,13}-[a-f0-9]{64}',
  ),
  {
    id: 'slack-webhook-url',
    description: 'Slack incoming webhook or workflow URL (the path is the credential)',
    anchors: ['hooks.slack.com/'],
    pattern: 'hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{40,160}',
  },
  {
    id: 'discord-webhook-url',
    description: 'Discord webhook URL (id and token in the path)',
    anchors: ['discord.com/api/webhooks/', 'discordapp.com/api/webhooks/'],
    pattern: 'discord(?:app)?\\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,80}',
  },
  {
    id: 'telegram-bot-token',
    description: 'Telegram bot token in a Bot API URL (bot<id>:<secret>)',
    anchors: ['api.telegram.org/bot'],
    pattern: `api\\.telegram\\.org/bot([0-9]{8,10}:[A-Za-z0-9_-]{35})${RU}`,
    group: 1,
  },
  prefixed(
    'sendgrid-api-key',
    'SendGrid API key (SG. + 22 + . + 43)',
    'SG.',
    '[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}',
    RU,
  ),
  prefixed('twilio-api-key', 'Twilio API key secret id (SK + 32 hex)', 'SK', '[0-9a-fA-F]{32}'),
  prefixed('mailgun-api-key', 'Mailgun API key (key- + 32 hex)', 'key-', '[0-9a-f]{32}'),
  prefixed('linear-api-key', 'Linear API key (lin_api_ + 40)', 'lin_api_', '[A-Za-z0-9]{40}'),
  {
    id: 'notion-token',
    description: 'Notion integration token (secret_ + 43, ntn_ + 46)',
    anchors: ['secret_', 'ntn_'],
    pattern: `${L}(?:secret_[A-Za-z0-9]{43}|ntn_[A-Za-z0-9]{46})${R}`,
  },
  prefixed('postman-api-key', 'Postman API key (PMAK-)', 'PMAK-', '[a-f0-9]{24}-[a-f0-9]{34}'),
  {
    id: 'sentry-token',
    description: 'Sentry organisation or user auth token (sntrys_, sntryu_)',
    anchors: ['sntrys_', 'sntryu_'],
    pattern: `${L}(?:sntrys_[A-Za-z0-9+/=_]{60,400}|sntryu_[a-f0-9]{64})${R}`,
  },
  {
    id: 'grafana-token',
    description: 'Grafana service account or cloud token (glsa_, glc_)',
    anchors: ['glsa_', 'glc_'],
    pattern: `${L}(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2})${R}`,
  },
  prefixed('new-relic-key', 'New Relic user API key (NRAK- + 27)', 'NRAK-', '[A-Z0-9]{27}'),
];
