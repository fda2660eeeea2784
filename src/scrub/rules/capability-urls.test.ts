/** URLs that are themselves the credential, the secret in the path: each went out bare on 541d4e7. */
import { describe, expect, it } from 'vitest';
import {
  expectLeftAlone,
  expectNoTailInStreams,
  expectRedacted,
  hexSecret,
  secret,
} from '../../../test/helpers/scrub-cases.js';
import { seeded } from '../../../test/helpers/seeded.js';
import { createScrubber } from '../index.js';

const hex = hexSecret;
const uuid = (seed: number) => {
  const h = hex(32, seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};
const lower = (length: number, seed: number) => seeded(seed).text('abcdefghijkmnpqrstuvwxyz23456789', length);

describe('a webhook URL whose path is the credential', () => {
  const connector = hex(32, 91);
  const signature = `V2${secret(44, 92)}`;
  const teams = `${uuid(93)}@${uuid(94)}/IncomingWebhook/${connector}/${uuid(95)}`;
  expectRedacted({
    "Teams' webhookb2 URL, with its V2 signature": [
      `TEAMS_WEBHOOK=https://contoso.webhook.office.com/webhookb2/${teams}/${signature}`,
      signature,
    ],
    "Teams' webhookb2 URL: the connector id": [
      `"url": "https://contoso.webhook.office.com/webhookb2/${teams}"`,
      connector,
    ],
    "Teams' older outlook.office.com URL": [`https://outlook.office.com/webhook/${teams}`, connector],
    'a Zapier catch hook': [
      `curl -X POST https://hooks.zapier.com/hooks/catch/4817263/b${lower(6, 96)}/ -d @payload.json`,
      `4817263/b${lower(6, 96)}`,
    ],
    'a Feishu bot hook': [`webhook: https://open.feishu.cn/open-apis/bot/v2/hook/${uuid(97)}`, uuid(97)],
    'a Lark bot hook': [`https://open.larksuite.com/open-apis/bot/v2/hook/${uuid(98)}`, uuid(98)],
    'an IFTTT trigger key': [
      `https://maker.ifttt.com/trigger/door_open/with/key/${secret(22, 99)}`,
      secret(22, 99),
    ],
    'an IFTTT JSON trigger key': [
      `https://maker.ifttt.com/trigger/door_open/json/with/key/${secret(22, 100)}?value1=x`,
      secret(22, 100),
    ],
    'a Make hook': [`MAKE_HOOK=https://hook.eu1.make.com/${lower(32, 101)}`, lower(32, 101)],
    'an Integromat hook': [`https://hook.integromat.com/${lower(32, 102)}`, lower(32, 102)],
    'an Apps Script web app': [
      `fetch("https://script.google.com/macros/s/AKfycb${secret(72, 103)}/exec")`,
      secret(72, 103),
    ],
    'a PagerDuty integration URL': [
      `https://events.pagerduty.com/integration/${hex(32, 104)}/enqueue`,
      hex(32, 104),
    ],
    'a Healthchecks ping URL': [`curl -fsS -m 10 https://hc-ping.com/${uuid(105)}`, uuid(105)],
    'a Mattermost hook': [`MATTERMOST_URL=https://chat.example.com/hooks/${lower(26, 106)}`, lower(26, 106)],
    "a Rocket.Chat hook's token": [
      `https://rocket.example.com/hooks/${secret(17, 107)}/${secret(48, 108)}`,
      secret(48, 108),
    ],
    'an n8n production webhook': [`https://acme.app.n8n.cloud/webhook/${uuid(109)}`, uuid(109)],
  });
  expectLeftAlone({
    "Teams' docs host": 'see https://contoso.webhook.office.com/webhookb2/ for setup',
    'a GitHub repository hooks page': 'https://github.com/acme/api/settings/hooks/412345678',
    'a docs page about webhooks': 'https://docs.stripe.com/webhooks/quickstart-signature-verification',
    'a React hooks page': 'https://react.dev/reference/react/hooks/useSyncExternalStore',
    'a Make page that is not a hook': 'https://www.make.com/en/help/tools/webhooks-and-integrations',
    'a hook named in words': 'POST /webhook/order-created-notification-handler',
  });

  it('keeps the host and fixed path of a Teams URL for the reader', () => {
    const out = createScrubber().text(`https://contoso.webhook.office.com/webhookb2/${teams}`);
    expect(out).toBe('https://contoso.webhook.office.com/webhookb2/[REDACTED:microsoft-teams-webhook]');
  });
});

describe('in a stream', () => {
  it('redacts a Teams URL cut at every position and in small chunks', () => {
    const teams = `${uuid(110)}@${uuid(111)}/IncomingWebhook/${hex(32, 112)}/${uuid(113)}`;
    expectNoTailInStreams(`notify: https://x.webhook.office.com/webhookb2/${teams}\n`, teams.slice(-12));
  });
  it('redacts a generic hook token cut at every position and in small chunks', () =>
    expectNoTailInStreams(
      `url=https://chat.example.com/hooks/${lower(26, 114)}\n`,
      lower(26, 114).slice(-8),
    ));
});
