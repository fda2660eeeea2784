/**
 * URLs that are themselves the credential (capability URLs): whoever holds one posts into a team's
 * channel, starts a workflow, pages the on-call or reports a job healthy, with no other key. The
 * secret is a path segment, so neither a parameter rule nor an assignment rule reads it, and the
 * URL reaches tool output bare in a config file, a CI log or a `curl` line. Each went out bare on
 * 541d4e7 (Slack's, Discord's and Telegram's are in saas.ts, Teams' in gitleaks.ts).
 *
 * The host and the fixed part of the path stay, so a reader still sees which service it was;
 * the segments that carry the capability are redacted.
 */
import { looksLikeSecretValue } from './generic.js';
import { R, RU, type SecretRule } from './types.js';

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/** Words joined by separators, digits at most in their last: a page's name, not a token. */
const SLUG = /^[A-Za-z]+(?:[-_.][A-Za-z]+)*(?:[-_.][0-9]+)?$/;

/** The last path segment of a generic hook URL's redacted part: random, and not a page's name. */
function randomLastSegment(path: string): boolean {
  const last = path.slice(path.lastIndexOf('/') + 1);
  return /[0-9]/.test(last) && /[A-Za-z]/.test(last) && !SLUG.test(last) && looksLikeSecretValue(last, 3.2);
}

export const capabilityUrlRules: readonly SecretRule[] = [
  {
    id: 'zapier-webhook-url',
    description: 'Zapier catch hook URL (account and hook key in the path)',
    anchors: ['hooks.zapier.com/hooks/catch/'],
    pattern: `hooks\\.zapier\\.com/hooks/catch/([0-9]{4,12}/[A-Za-z0-9]{5,16})${R}`,
    group: 1,
  },
  {
    id: 'lark-webhook-url',
    description: 'Feishu / Lark custom bot webhook URL (the hook id in the path)',
    anchors: ['open.feishu.cn/open-apis/bot/', 'open.larksuite.com/open-apis/bot/'],
    pattern: `open\\.(?:feishu\\.cn|larksuite\\.com)/open-apis/bot/v2/hook/([A-Za-z0-9-]{20,64})${RU}`,
    group: 1,
  },
  {
    id: 'ifttt-webhook-key',
    description: 'IFTTT Webhooks key in a maker.ifttt.com URL',
    anchors: ['maker.ifttt.com/'],
    pattern: `maker\\.ifttt\\.com/(?:trigger/[A-Za-z0-9_.-]{1,64}/(?:json/)?with/key|use)/([A-Za-z0-9_-]{16,64})${RU}`,
    group: 1,
  },
  {
    id: 'make-webhook-url',
    description: 'Make (Integromat) custom webhook URL (the hook key in the path)',
    anchors: ['make.com/', 'hook.integromat.com/'],
    pattern: `(?:(?<=hook(?:\\.[a-z]{2}[0-9])?\\.)make\\.com|hook\\.integromat\\.com)/([a-z0-9]{24,40})${R}`,
    group: 1,
    contextBefore: 9,
  },
  {
    id: 'google-apps-script-url',
    description: 'Google Apps Script web app URL (a deployment anyone holding it can run)',
    anchors: ['script.google.com/macros/s/'],
    pattern: `script\\.google\\.com/macros/s/(AKfyc[A-Za-z0-9_-]{40,120})${RU}`,
    group: 1,
  },
  {
    id: 'pagerduty-integration-url',
    description: 'PagerDuty Events API integration URL (the integration key in the path)',
    anchors: ['events.pagerduty.com/integration/'],
    pattern: 'events\\.pagerduty\\.com/integration/([a-f0-9]{32})(?![A-Za-z0-9])',
    group: 1,
  },
  {
    id: 'healthchecks-ping-url',
    description: 'Healthchecks.io ping URL (the check UUID in the path)',
    anchors: ['hc-ping.com/'],
    pattern: `hc-ping\\.com/(${UUID})${RU}`,
    group: 1,
  },
  {
    // Self-hosted chat and automation (Mattermost, Rocket.Chat, n8n, Gitea's and many a CI's
    // incoming hooks) put the key after `/hooks/` or `/webhook/` on any host: only a random last
    // segment (letters and digits, not a page's name) of 20 or more characters is taken.
    id: 'webhook-path-token',
    description: 'a token in the path of an incoming webhook URL (/hooks/…, /webhook/…)',
    anchors: ['/hooks/', '/hook/', '/webhook/', '/webhooks/'],
    anyCase: true,
    pattern: `/(?:web)?hooks?/((?:[A-Za-z0-9_-]{1,64}/)?(?:[A-Za-z0-9_-]{1,64}/)?[A-Za-z0-9_-]{20,128})${RU}`,
    group: 1,
    accept: randomLastSegment,
  },
];
