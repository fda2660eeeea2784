/**
 * Provider tokens ported from gitleaks' rule set (config/gitleaks.toml,
 * github.com/gitleaks/gitleaks, MIT licence). Only rules whose tokens start with
 * a distinctive literal prefix are ported: the prefix becomes the anchor, the
 * regex is gitleaks' with `(?i)` spelled out as classes, unbounded repeats
 * bounded (the regex-safety lint) and gitleaks' trailing-delimiter group
 * replaced by our word-boundary lookahead. Keyword-only rules (a generic
 * 32-hex value next to the word "sumo") are not ported: they have no anchor.
 */
import { L, prefixed, R, RU, type SecretRule } from './types.js';

const AN = 'A-Za-z0-9';

export const gitleaksRules: readonly SecretRule[] = [
  {
    id: 'onepassword-service-account-token',
    description: '1Password service account token (ops_eyJ + base64 JSON)',
    anchors: ['ops_eyJ'],
    pattern: `${L}ops_eyJ[${AN}+/]{250,1000}={0,3}${R}`,
    maxLength: 1010,
  },
  {
    id: 'aws-bedrock-api-key',
    description: 'Amazon Bedrock long-lived API key (ABSK + base64)',
    anchors: ['ABSK'],
    pattern: `${L}ABSK[${AN}+/]{109,269}={0,2}${R}`,
  },
  prefixed(
    'gitlab-cicd-job-token',
    'GitLab CI/CD job token (glcbt-)',
    'glcbt-',
    `[${AN}]{1,5}_[${AN}_-]{20}`,
    RU,
  ),
  prefixed('gitlab-feed-token', 'GitLab feed token (glft-)', 'glft-', `[${AN}_-]{20}`, RU),
  prefixed(
    'gitlab-incoming-mail-token',
    'GitLab incoming mail token (glimt-)',
    'glimt-',
    `[${AN}_-]{25}`,
    RU,
  ),
  prefixed(
    'gitlab-kubernetes-agent-token',
    'GitLab Kubernetes agent token (glagent-)',
    'glagent-',
    `[${AN}_-]{50}`,
    RU,
  ),
  prefixed(
    'gitlab-oauth-app-secret',
    'GitLab OAuth application secret (gloas-)',
    'gloas-',
    `[${AN}_-]{64}`,
    RU,
  ),
  prefixed('gitlab-scim-token', 'GitLab SCIM token (glsoat-)', 'glsoat-', `[${AN}_-]{20}`, RU),
  {
    id: 'gitlab-session-cookie',
    description: 'GitLab session cookie (_gitlab_session=)',
    anchors: ['_gitlab_session='],
    pattern: `_gitlab_session=([0-9a-z]{32})${R}`,
    group: 1,
  },
  prefixed(
    'cloudflare-origin-ca-key',
    'Cloudflare Origin CA key (v1.0- + 24 hex + 146 hex)',
    'v1.0-',
    '[a-f0-9]{24}-[a-f0-9]{146}',
  ),
  prefixed('adobe-client-secret', 'Adobe client secret (p8e-)', 'p8e-', `[${AN}]{32}`),
  prefixed('alibaba-access-key-id', 'Alibaba Cloud AccessKey ID (LTAI)', 'LTAI', `[${AN}]{20}`),
  prefixed('dynatrace-api-token', 'Dynatrace API token (dt0c01.)', 'dt0c01.', `[${AN}]{24}\\.[${AN}]{64}`),
  prefixed('easypost-api-token', 'EasyPost API key (EZAK)', 'EZAK', `[${AN}]{54}`),
  {
    id: 'duffel-api-token',
    description: 'Duffel API token (duffel_test_, duffel_live_)',
    anchors: ['duffel_test_', 'duffel_live_'],
    pattern: `${L}duffel_(?:test|live)_[${AN}_=-]{43}${RU}`,
  },
  prefixed(
    'flutterwave-secret-key',
    'Flutterwave test secret key (FLWSECK_TEST-)',
    'FLWSECK_TEST-',
    '[a-hA-H0-9]{32}-X',
  ),
  prefixed('frameio-api-token', 'Frame.io API token (fio-u-)', 'fio-u-', `[${AN}_=-]{64}`, RU),
  prefixed('infracost-api-token', 'Infracost API token (ico-)', 'ico-', `[${AN}]{32}`),
  prefixed('prefect-api-token', 'Prefect API token (pnu_)', 'pnu_', `[${AN}]{36}`),
  prefixed('readme-api-token', 'ReadMe API token (rdme_)', 'rdme_', '[a-z0-9]{70}'),
  prefixed('rubygems-api-token', 'RubyGems API token (rubygems_)', 'rubygems_', '[a-f0-9]{48}'),
  prefixed('scalingo-api-token', 'Scalingo API token (tk-us-)', 'tk-us-', `[${AN}_-]{48}`, RU),
  {
    id: 'shippo-api-token',
    description: 'Shippo API token (shippo_live_, shippo_test_)',
    anchors: ['shippo_live_', 'shippo_test_'],
    pattern: `${L}shippo_(?:live|test)_[a-fA-F0-9]{40}${R}`,
  },
  prefixed('openshift-user-token', 'OpenShift user token (sha256~)', 'sha256~', `[${AN}_-]{43}`, RU),
  prefixed('clojars-api-token', 'Clojars deploy token (CLOJARS_)', 'CLOJARS_', '[a-z0-9]{60}'),
  {
    id: 'flyio-access-token',
    description: 'Fly.io access token (fo1_, fm1a_, fm1r_, fm2_)',
    anchors: ['fo1_', 'fm1a_', 'fm1r_', 'fm2_'],
    pattern: `${L}(?:fo1_[${AN}_-]{43}|(?:fm1[ar]|fm2)_[${AN}+/]{100,1000}={0,3})${RU}`,
    maxLength: 1010,
  },
  prefixed('octopus-deploy-api-key', 'Octopus Deploy API key (API- + 26)', 'API-', '[A-Z0-9]{26}'),
  prefixed('typeform-api-token', 'Typeform personal token (tfp_)', 'tfp_', `[${AN}_.=-]{59}`, RU),
  {
    id: 'harness-api-key',
    description: 'Harness personal or service account token (pat., sat.)',
    anchors: ['pat.', 'sat.'],
    pattern: `${L}(?:pat|sat)\\.[${AN}_-]{22}\\.[${AN}]{24}\\.[${AN}]{20}${R}`,
  },
  {
    id: 'onepassword-secret-key',
    description: '1Password account secret key (A3-)',
    anchors: ['A3-'],
    pattern: `${L}A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}${R}`,
  },
  prefixed('artifactory-api-key', 'JFrog Artifactory API key (AKCp)', 'AKCp', `[${AN}]{69}`),
  prefixed(
    'artifactory-reference-token',
    'JFrog Artifactory reference token (cmVmd)',
    'cmVmd',
    `[${AN}]{59}`,
  ),
  {
    id: 'aws-bedrock-short-lived-key',
    description: 'Amazon Bedrock short-lived API key (bedrock-api-key- + base64 presigned URL)',
    anchors: ['bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t'],
    pattern: `${L}bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[${AN}+/]{0,4000}={0,2}`,
    maxLength: 4100,
  },
  prefixed(
    'clickhouse-cloud-api-secret',
    'ClickHouse Cloud API secret key (4b1d + 38)',
    '4b1d',
    `[${AN}]{38}`,
  ),
  prefixed('easypost-test-api-token', 'EasyPost test API key (EZTK)', 'EZTK', `[${AN}]{54}`),
  {
    id: 'facebook-page-access-token',
    description: 'Facebook page access token (EAAM, EAAC)',
    anchors: ['EAAM', 'EAAC'],
    pattern: `${L}EAA[MC][${AN}]{100,1000}${R}`,
    maxLength: 1010,
  },
  prefixed(
    'gitlab-feature-flag-client-token',
    'GitLab feature flag client token (glffct-)',
    'glffct-',
    `[${AN}_-]{20}`,
    RU,
  ),
  prefixed(
    'gitlab-runner-registration-token',
    'GitLab runner registration token (GR1348941)',
    'GR1348941',
    `[${AN}_-]{20}`,
    RU,
  ),
  prefixed(
    'huggingface-org-token',
    'Hugging Face organisation API token (api_org_)',
    'api_org_',
    '[A-Za-z]{34}',
  ),
  {
    id: 'intra42-client-secret',
    description: '42 Intra client secret (s-s4t2ud-, s-s4t2af-)',
    anchors: ['s-s4t2ud-', 's-s4t2af-'],
    pattern: `${L}s-s4t2(?:ud|af)-[a-fA-F0-9]{64}${R}`,
  },
  {
    id: 'microsoft-teams-webhook',
    description: 'Microsoft Teams incoming webhook URL (the path is the credential)',
    // The older outlook.office(365).com host too, either case, and the
    // `/V2…` signature newer URLs end in: the rule once stopped before it, and it went out bare.
    anchors: ['webhook.office.com/webhookb', 'outlook.office.com/webhook/', 'outlook.office365.com/webhook/'],
    anyCase: true,
    pattern:
      '(?:webhook\\.office\\.com/webhookb[23]|outlook\\.office(?:365)?\\.com/webhook)/([a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}@[a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}/IncomingWebhook/[a-z0-9]{32}/[a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}(?:/V2[A-Za-z0-9_-]{20,80})?)(?![A-Za-z0-9_-])',
    group: 1,
  },
  prefixed(
    'sendinblue-api-token',
    'Brevo (Sendinblue) API key (xkeysib-)',
    'xkeysib-',
    `[a-f0-9]{64}-[${AN}]{16}`,
  ),
  {
    id: 'settlemint-token',
    description: 'SettleMint access token (sm_aat_, sm_pat_, sm_sat_)',
    anchors: ['sm_aat_', 'sm_pat_', 'sm_sat_'],
    pattern: `${L}sm_[aps]at_[${AN}]{16}${R}`,
  },
  {
    id: 'slack-legacy-token',
    description: 'Slack legacy or workspace token (xoxo-, xoxs-, xoxa-, xoxr-)',
    anchors: ['xoxo-', 'xoxs-', 'xoxa-', 'xoxr-'],
    pattern: `${L}(?:xox[os]-[0-9]{1,20}-[0-9]{1,20}-[0-9]{1,20}-[a-fA-F0-9]{8,128}|xox[ar]-(?:[0-9]-)?[${AN}]{8,48})${R}`,
  },
  prefixed(
    'slack-config-token',
    'Slack configuration token (xoxe-)',
    'xoxe-',
    `[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[${AN}-]{28,34}`,
    RU,
  ),
  prefixed(
    'defined-networking-api-token',
    'Defined Networking API token (dnkey-)',
    'dnkey-',
    `[${AN}=_-]{26}-[${AN}=_-]{52}`,
    RU,
  ),
  prefixed(
    'grafana-api-key',
    'Grafana API key (eyJrIjoi, base64 of {"k":")',
    'eyJrIjoi',
    `[${AN}]{70,400}={0,3}`,
  ),
  prefixed('new-relic-browser-api-token', 'New Relic browser API token (NRJS-)', 'NRJS-', '[a-f0-9]{19}'),
  prefixed('new-relic-insert-key', 'New Relic insert key (NRII-)', 'NRII-', '[A-Za-z0-9-]{32}', RU),
  {
    id: 'plaid-access-token',
    description: 'Plaid access token (access-sandbox-, access-development-, access-production-)',
    anchors: ['access-sandbox-', 'access-development-', 'access-production-'],
    pattern: `${L}access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}${R}`,
  },
  {
    id: 'sourcegraph-access-token',
    description: 'Sourcegraph access token (sgp_)',
    anchors: ['sgp_'],
    pattern: `${L}sgp_(?:(?:[a-fA-F0-9]{16}|local)_)?[a-fA-F0-9]{40}${R}`,
  },
  prefixed('yandex-api-key', 'Yandex Cloud API key (AQVN)', 'AQVN', `[${AN}_-]{35,38}`, RU),
];
