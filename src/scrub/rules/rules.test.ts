import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { seeded } from '../../../test/helpers/seeded.js';
import { createScrubber } from '../index.js';
import { maxMatchLength, regexSafetyProblems } from '../regex-safety.js';
import { BUILTIN_RULES } from './index.js';

/** Rules whose samples live in the gitleaks coverage table (test/scrub/gitleaks-coverage.test.ts). */
const GITLEAKS = JSON.parse(
  readFileSync(new URL('../../../test/scrub/gitleaks-coverage.json', import.meta.url), 'utf8'),
) as { samples: { rule: string }[] };

/** Deterministic fake token material, built at runtime so no credential-shaped literal sits in the source. */
function fake(length: number, alphabet = 'aB3cD4eF5gH6iJ7kL8mN9pQ2rS3tU4vW5xY6z', seed = length): string {
  return seeded(seed * 7919 + 17).text(alphabet, length);
}
const HEX = '0123456789abcdef';
const DIG = '0123456789';
const UP = 'ABCDEFGHJKLMNPQRSTUVWXYZ234567';

/** For each rule: a leak it must catch (the secret part given separately) and a look-alike it must leave alone. */
const SAMPLES: Record<string, { tp: [string, string]; fp: string }> = {
  'bulkhead-token': { tp: ['Authorization: Bearer ', `bha_${fake(43)}`], fp: `bha_${fake(20)} is too short` },
  'anthropic-api-key': {
    tp: ['ANTHROPIC_API_KEY=', `sk-ant-api03-${fake(93)}AA`],
    fp: 'see sk-ant-api03 in the docs',
  },
  'openrouter-api-key': { tp: ['key: ', `sk-or-v1-${fake(64, HEX)}`], fp: `sk-or-v1-${fake(12, HEX)}` },
  'openai-api-key': {
    tp: ['export OPENAI_API_KEY=', `sk-proj-${fake(48)}`],
    fp: 'pip install sk-learn-tutorial-notebooks',
  },
  'huggingface-token': {
    tp: ['HF_TOKEN ', `hf_${fake(34, 'aBcDeFgHiJkLmNoPqRsTuVwXyZ')}`],
    fp: 'the hf_transfer_enabled_flag_is_set_here_ok',
  },
  'groq-api-key': { tp: ['groq ', `gsk_${fake(52)}`], fp: `gsk_${fake(20)}` },
  'replicate-token': { tp: ['token ', `r8_${fake(37)}`], fp: 'model r8_small' },
  'xai-api-key': { tp: ['XAI ', `xai-${fake(80)}`], fp: 'xai-grok-model-name' },
  'perplexity-api-key': { tp: ['PPLX ', `pplx-${fake(48)}`], fp: 'pplx-70b-online' },
  'llm-provider-api-key': {
    tp: ['DEEPSEEK key ', `sk-${fake(32, HEX)}`],
    fp: 'sk-deadbeefdeadbeefdeadbeefdeadbeef',
  },
  'nvidia-api-key': { tp: ['NVIDIA ', `nvapi-${fake(64)}`], fp: 'nvapi-docs' },
  'together-api-key': { tp: ['together ', `tgp_v1_${fake(43)}`], fp: 'tgp_v1_ keys' },
  'fireworks-api-key': { tp: ['fireworks ', `fw_${fake(24)}`], fp: 'fw_versionstringformatted' },
  'cerebras-api-key': {
    tp: ['CEREBRAS ', `csk-${fake(48, 'abcdefghijklmnopqrstuvwxyz0123456789')}`],
    fp: `csk-${'a'.repeat(48)}`,
  },
  'voyage-api-key': { tp: ['voyage ', `pa-${fake(43)}`], fp: 'class="pa-4 md:pa-8 lg:pa-12"' },
  'elevenlabs-api-key': { tp: ['xi-api-key: ', `sk_${fake(48, HEX)}`], fp: 'task_list risk_score' },
  'langfuse-secret-key': {
    tp: [
      'LANGFUSE_SECRET_KEY ',
      `sk-lf-${fake(8, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(12, HEX)}`,
    ],
    fp: 'sk-lf-... from the project settings',
  },
  'e2b-api-key': { tp: ['E2B ', `e2b_${fake(40, HEX)}`], fp: 'e2b_sandbox_template' },
  'firecrawl-api-key': { tp: ['firecrawl ', `fc-${fake(32, HEX)}`], fp: 'fc-barcelona fc-2024' },
  'tavily-api-key': { tp: ['TAVILY ', `tvly-dev-${fake(32)}`], fp: 'tvly-python client' },
  'browserbase-api-key': { tp: ['BROWSERBASE ', `bb_live_${fake(27)}`], fp: 'bb_live_ keys' },
  'pinecone-api-key': { tp: ['PINECONE ', `pcsk_${fake(5)}_${fake(60)}`], fp: 'pcsk_ prefix' },
  'supabase-access-token': { tp: ['SUPABASE_ACCESS_TOKEN ', `sbp_${fake(40, HEX)}`], fp: 'sbp_ tokens' },
  'supabase-secret-key': { tp: ['service key ', `sb_secret_${fake(31)}`], fp: 'sb_secret_key_name' },
  'neon-api-key': {
    tp: ['NEON ', `napi_${fake(64, 'abcdefghijklmnopqrstuvwxyz0123456789')}`],
    fp: 'napi_create_function',
  },
  'netlify-personal-access-token': { tp: ['NETLIFY_AUTH_TOKEN ', `nfp_${fake(36)}`], fp: 'nfp_ tokens' },
  'render-api-key': { tp: ['RENDER ', `rnd_${fake(32)}`], fp: 'rnd_seed_value' },
  'figma-token': { tp: ['X-Figma-Token: ', `figd_${fake(43, `${HEX}ABCDEF_-`)}`], fp: 'figd_ tokens' },
  'linear-oauth-token': { tp: ['linear ', `lin_oauth_${fake(64, HEX)}`], fp: 'lin_oauth_scope' },
  'tailscale-key': { tp: ['TS_AUTHKEY=', `tskey-auth-${fake(12)}-${fake(33)}`], fp: 'tskey-auth-XXXX' },
  'hubspot-private-app-token': {
    tp: [
      'HUBSPOT ',
      `pat-na1-${fake(8, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(12, HEX)}`,
    ],
    fp: 'pat-na1 region',
  },
  'langsmith-api-key': {
    tp: ['LANGSMITH_API_KEY ', `lsv2_pt_${fake(32, HEX)}_${fake(10, HEX)}`],
    fp: 'lsv2_pt_ prefix',
  },
  'aws-access-key-id': {
    tp: ['aws_access_key_id = ', `AKIA${fake(16, UP)}`],
    fp: `AKIA${fake(10, UP)} is too short`,
  },
  'aws-secret-access-key': {
    tp: ['aws_secret_access_key = ', fake(40, `${UP}abcdefgh+/`)],
    fp: 'aws_secret_access_key = $' + '{AWS_SECRET}',
  },
  'aws-session-token': {
    tp: ['AWS_SESSION_TOKEN=', fake(180, `${UP}abcdef+/`)],
    fp: 'AWS_SESSION_TOKEN=short',
  },
  'gcp-api-key': { tp: ['key=', `AIza${fake(35)}`], fp: 'AIzaSy is the usual start' },
  'gcp-oauth-client-secret': {
    tp: ['"client_secret": "', `GOCSPX-${fake(28)}`],
    fp: 'GOCSPX- prefix documented',
  },
  'gcp-oauth-access-token': { tp: ['Authorization: ', `ya29.${fake(120)}`], fp: 'ya29.short' },
  'gcp-service-account-key-id': {
    tp: ['"private_key_id": "', fake(40, HEX)],
    fp: '"private_key_id": "not-a-key"',
  },
  'azure-storage-account-key': {
    tp: ['DefaultEndpointsProtocol=https;AccountName=x;AccountKey=', `${fake(86)}==`],
    fp: 'AccountKey=;',
  },
  'azure-shared-access-key': {
    tp: [
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=',
      `${fake(43)}=`,
    ],
    fp: 'SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=;',
  },
  'azure-sas-signature': {
    tp: ['https://x.blob.core.windows.net/c?sv=2022-11-02&sig=', `${fake(43)}%3D`],
    fp: 'sig=abc',
  },
  'digitalocean-token': { tp: ['DO ', `dop_v1_${fake(64, HEX)}`], fp: 'dop_v1_deadbeef' },
  'heroku-api-key': { tp: ['HEROKU_API_KEY=', `HRKU-${fake(60)}`], fp: 'HRKU-short' },
  'vault-token': { tp: ['VAULT_TOKEN=', `hvs.${fake(90)}`], fp: 'hvs.short' },
  'terraform-cloud-token': {
    tp: ['token = "', `${fake(14)}.atlasv1.${fake(67)}`],
    fp: 'host.atlasv1.example',
  },
  'databricks-token': { tp: ['DATABRICKS_TOKEN=', `dapi${fake(32, HEX)}`], fp: 'dapi-client version' },
  'doppler-token': { tp: ['DOPPLER_TOKEN=', `dp.pt.${fake(43)}`], fp: 'dp.pt.short' },
  'pulumi-token': { tp: ['PULUMI_ACCESS_TOKEN=', `pul-${fake(40, HEX)}`], fp: 'pul-request' },
  'planetscale-token': { tp: ['password: ', `pscale_pw_${fake(43)}`], fp: 'pscale_pw_x' },
  'github-pat': { tp: ['GH ', `ghp_${fake(36)}`], fp: `ghp_${fake(20)}` },
  'github-oauth-token': { tp: ['GH ', `gho_${fake(36)}`], fp: `gho_${fake(36)}xyz` },
  'github-user-token': { tp: ['GH ', `ghu_${fake(36)}`], fp: 'ghu_ prefix' },
  'github-server-token': { tp: ['GH ', `ghs_${fake(36)}`], fp: 'ghs_ prefix' },
  'github-refresh-token': { tp: ['GH ', `ghr_${fake(76)}`], fp: 'ghr_ prefix' },
  'github-fine-grained-pat': { tp: ['GH ', `github_pat_${fake(22)}_${fake(59)}`], fp: 'github_pat_ prefix' },
  'gitlab-pat': { tp: ['PRIVATE-TOKEN: ', `glpat-${fake(20)}`], fp: 'glpat-short' },
  'gitlab-runner-token': { tp: ['token = "', `glrt-${fake(20)}`], fp: 'glrt-short' },
  'gitlab-deploy-token': { tp: ['token ', `gldt-${fake(20)}`], fp: 'gldt-short' },
  'gitlab-trigger-token': { tp: ['TRIGGER=', `glptt-${fake(40, HEX)}`], fp: 'glptt-123' },
  'bitbucket-app-password': { tp: ['pw ', `ATBB${fake(32)}`], fp: 'ATBB short' },
  'atlassian-api-token': { tp: ['JIRA_TOKEN=', `ATATT3${fake(180)}`], fp: 'ATATT3 short' },
  'npm-token': { tp: ['//registry.npmjs.org/:_authToken=', `npm_${fake(36)}`], fp: 'npm_config_cache' },
  'pypi-token': { tp: ['password = ', `pypi-AgEIcHlwaS5vcmc${fake(70)}`], fp: 'pypi-AgEIcHlwaS5vcmc' },
  'docker-hub-pat': { tp: ['DOCKER_TOKEN=', `dckr_pat_${fake(27)}`], fp: 'dckr_pat_short' },
  'slack-bot-token': {
    tp: ['SLACK ', `xoxb-${fake(12, DIG)}-${fake(13, DIG)}-${fake(24)}`],
    fp: 'xoxb-not-a-token',
  },
  'slack-user-token': {
    tp: ['SLACK ', `xoxp-${fake(12, DIG)}-${fake(12, DIG)}-${fake(13, DIG)}-${fake(32, HEX)}`],
    fp: 'xoxp-1-2-3',
  },
  'slack-app-token': {
    tp: ['SLACK ', `xapp-1-A${fake(10, UP)}-${fake(13, DIG)}-${fake(64, HEX)}`],
    fp: 'xapp-1-A',
  },
  'slack-webhook-url': {
    tp: ['https://', `hooks.slack.com/services/T${fake(10, UP)}/B${fake(10, UP)}/${fake(24)}`],
    fp: 'see https://hooks.slack.com/services/ for docs',
  },
  'discord-webhook-url': {
    tp: ['https://', `discord.com/api/webhooks/${fake(18, DIG)}/${fake(68)}`],
    fp: 'https://discord.com/api/webhooks/ docs',
  },
  'telegram-bot-token': {
    tp: ['https://api.telegram.org/bot', `${fake(10, DIG)}:AA${fake(33)}`],
    fp: 'https://api.telegram.org/bot/getMe',
  },
  'sendgrid-api-key': { tp: ['SENDGRID ', `SG.${fake(22)}.${fake(43)}`], fp: 'SG.short.thing' },
  'twilio-api-key': { tp: ['TWILIO ', `SK${fake(32, HEX)}`], fp: 'SKU12345' },
  'mailgun-api-key': { tp: ['MAILGUN ', `key-${fake(32, HEX)}`], fp: 'key-value store' },
  'linear-api-key': { tp: ['LINEAR ', `lin_api_${fake(40)}`], fp: 'lin_api_ prefix' },
  'notion-token': { tp: ['NOTION ', `ntn_${fake(46)}`], fp: 'secret_santa_list' },
  'postman-api-key': { tp: ['POSTMAN ', `PMAK-${fake(24, HEX)}-${fake(34, HEX)}`], fp: 'PMAK-123' },
  'sentry-token': { tp: ['SENTRY_AUTH_TOKEN=', `sntryu_${fake(64, HEX)}`], fp: 'sntryu_short' },
  'grafana-token': { tp: ['GRAFANA ', `glsa_${fake(32)}_${fake(8, HEX)}`], fp: 'glsa_short' },
  'new-relic-key': { tp: ['NEW_RELIC ', `NRAK-${fake(27, UP)}`], fp: 'NRAK-SHORT' },
  'stripe-secret-key': { tp: ['stripe ', `sk_live_${fake(24)}`], fp: 'sk_live_ prefix' },
  'stripe-restricted-key': { tp: ['stripe ', `rk_live_${fake(24)}`], fp: 'rk_live_ prefix' },
  'stripe-webhook-secret': { tp: ['STRIPE_WEBHOOK_SECRET=', `whsec_${fake(32)}`], fp: 'whsec_short' },
  'shopify-token': { tp: ['X-Shopify-Access-Token: ', `shpat_${fake(32, HEX)}`], fp: 'shpat_xyz' },
  'square-token': { tp: ['SQUARE ', `sq0atp-${fake(22)}`], fp: 'sq0atp-short' },
  'braintree-access-token': {
    tp: ['BT ', `access_token$production$${fake(16, 'abcdefgh0123456789')}$${fake(32, HEX)}`],
    fp: 'access_token$production$ prefix',
  },
  // Ported from gitleaks (rules/gitleaks.ts).
  'onepassword-service-account-token': {
    tp: ['OP_SERVICE_ACCOUNT_TOKEN=', `ops_eyJ${fake(600)}`],
    fp: 'ops_eyJ is the prefix',
  },
  'aws-bedrock-api-key': { tp: ['AWS_BEARER_TOKEN_BEDROCK=', `ABSK${fake(132)}=`], fp: `ABSK${fake(40)}` },
  'gitlab-cicd-job-token': { tp: ['CI_JOB_TOKEN=', `glcbt-64_${fake(20)}`], fp: 'glcbt-short' },
  'gitlab-feed-token': { tp: ['feed_token=', `glft-${fake(20)}`], fp: 'glft-short' },
  'gitlab-incoming-mail-token': { tp: ['token ', `glimt-${fake(25)}`], fp: 'glimt-short' },
  'gitlab-kubernetes-agent-token': { tp: ['token ', `glagent-${fake(50)}`], fp: 'glagent-short' },
  'gitlab-oauth-app-secret': { tp: ['secret ', `gloas-${fake(64)}`], fp: 'gloas-short' },
  'gitlab-scim-token': { tp: ['token ', `glsoat-${fake(20)}`], fp: 'glsoat-short' },
  'gitlab-session-cookie': {
    // In a Cookie header the whole header is redacted as cookie-header (cookie-header's own sample).
    tp: ['curl -b _gitlab_session=', fake(32, `${HEX}ghijk`)],
    fp: '_gitlab_session=expired',
  },
  'cloudflare-origin-ca-key': {
    tp: ['CF_ORIGIN_CA_KEY=', `v1.0-${fake(24, HEX)}-${fake(146, HEX)}`],
    fp: 'version v1.0-beta',
  },
  'adobe-client-secret': { tp: ['ADOBE_SECRET=', `p8e-${fake(32)}`], fp: 'p8e-short' },
  'alibaba-access-key-id': { tp: ['ALIBABA_KEY=', `LTAI${fake(20)}`], fp: 'LTAI short' },
  'dynatrace-api-token': { tp: ['DT_TOKEN=', `dt0c01.${fake(24)}.${fake(64)}`], fp: 'dt0c01.short' },
  'easypost-api-token': { tp: ['EASYPOST ', `EZAK${fake(54)}`], fp: 'EZAK short' },
  'duffel-api-token': { tp: ['DUFFEL ', `duffel_live_${fake(43)}`], fp: 'duffel_live_ prefix' },
  'flutterwave-secret-key': {
    tp: ['FLW ', `FLWSECK_TEST-${fake(32, 'abcdefgh0123456789')}-X`],
    fp: 'FLWSECK_TEST-x-X',
  },
  'frameio-api-token': { tp: ['FRAMEIO ', `fio-u-${fake(64)}`], fp: 'fio-u-short' },
  'infracost-api-token': { tp: ['INFRACOST_API_KEY=', `ico-${fake(32)}`], fp: 'ico-file-format' },
  'prefect-api-token': { tp: ['PREFECT_API_KEY=', `pnu_${fake(36)}`], fp: 'pnu_short' },
  'readme-api-token': { tp: ['README ', `rdme_${fake(70, `${HEX}xyz`)}`], fp: 'rdme_short' },
  'rubygems-api-token': { tp: ['GEM_HOST_API_KEY=', `rubygems_${fake(48, HEX)}`], fp: 'rubygems_org' },
  'scalingo-api-token': { tp: ['SCALINGO ', `tk-us-${fake(48)}`], fp: 'tk-us-short' },
  'shippo-api-token': { tp: ['SHIPPO ', `shippo_live_${fake(40, HEX)}`], fp: 'shippo_live_ prefix' },
  'openshift-user-token': { tp: ['oc login --token=', `sha256~${fake(43)}`], fp: 'sha256~short' },
  'clojars-api-token': { tp: ['CLOJARS ', `CLOJARS_${fake(60, `${HEX}xyz`)}`], fp: 'CLOJARS_USERNAME' },
  'flyio-access-token': { tp: ['FLY_API_TOKEN=', `fm2_${fake(300)}==`], fp: 'fm2_short' },
  'octopus-deploy-api-key': { tp: ['OCTOPUS ', `API-${fake(26, UP)}`], fp: 'API-GATEWAY' },
  'typeform-api-token': { tp: ['TYPEFORM ', `tfp_${fake(59)}`], fp: 'tfp_short' },
  'harness-api-key': { tp: ['HARNESS ', `pat.${fake(22)}.${fake(24)}.${fake(20)}`], fp: 'pat.short.token' },
  'onepassword-secret-key': {
    tp: ['secret key: ', `A3-${fake(6, UP)}-${fake(11, UP)}-${fake(5, UP)}-${fake(5, UP)}-${fake(5, UP)}`],
    fp: 'A3-SIZE paper',
  },
  'artifactory-api-key': { tp: ['ARTIFACTORY ', `AKCp${fake(69)}`], fp: 'AKCp short' },
  'artifactory-reference-token': { tp: ['ARTIFACTORY ', `cmVmd${fake(59)}`], fp: 'cmVmdGVzdA== short' },
  'aws-bedrock-short-lived-key': {
    tp: ['AWS_BEARER_TOKEN_BEDROCK=', `bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t${fake(900)}`],
    fp: 'bedrock-api-key-is-the-prefix',
  },
  'clickhouse-cloud-api-secret': { tp: ['CLICKHOUSE ', `4b1d${fake(38)}`], fp: `4b1d${fake(36, HEX)}` },
  'easypost-test-api-token': { tp: ['EASYPOST ', `EZTK${fake(54)}`], fp: 'EZTK short' },
  'facebook-page-access-token': { tp: ['access_token=', `EAAM${fake(180)}`], fp: 'EAAC short' },
  'gitlab-feature-flag-client-token': { tp: ['token ', `glffct-${fake(20)}`], fp: 'glffct-short' },
  'gitlab-runner-registration-token': { tp: ['token ', `GR1348941${fake(20)}`], fp: 'GR1348941 short' },
  'huggingface-org-token': {
    tp: ['HF ', `api_org_${fake(34, 'aBcDeFgHiJkLmNoPqRsTuVwXyZ')}`],
    fp: 'api_org_id',
  },
  'intra42-client-secret': { tp: ['SECRET ', `s-s4t2ud-${fake(64, HEX)}`], fp: 's-s4t2ud-short' },
  'microsoft-teams-webhook': {
    tp: [
      'https://acme',
      `.webhook.office.com/webhookb2/${fake(8, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(12, HEX)}@${fake(8, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(12, HEX)}/IncomingWebhook/${fake(32, HEX)}/${fake(8, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(12, HEX)}`,
    ],
    fp: 'https://acme.webhook.office.com/webhookb2/ docs',
  },
  'sendinblue-api-token': { tp: ['BREVO ', `xkeysib-${fake(64, HEX)}-${fake(16)}`], fp: 'xkeysib-short' },
  'settlemint-token': { tp: ['SETTLEMINT ', `sm_pat_${fake(16)}`], fp: 'sm_pat_short' },
  'slack-legacy-token': {
    tp: ['SLACK ', `xoxs-${fake(10, DIG)}-${fake(10, DIG)}-${fake(12, DIG)}-${fake(64, HEX)}`],
    fp: 'xoxa-short',
  },
  'slack-config-token': {
    tp: ['SLACK ', `xoxe-${fake(12, DIG)}-${fake(12, DIG)}-${fake(13, DIG)}-${fake(30)}`],
    fp: 'xoxe-1-2-3',
  },
  'defined-networking-api-token': { tp: ['DNKEY ', `dnkey-${fake(26)}-${fake(52)}`], fp: 'dnkey-short' },
  'grafana-api-key': { tp: ['GRAFANA_API_KEY=', `eyJrIjoi${fake(90)}`], fp: 'eyJrIjoi short' },
  'new-relic-browser-api-token': { tp: ['NEW_RELIC ', `NRJS-${fake(19, HEX)}`], fp: 'NRJS-short' },
  'new-relic-insert-key': { tp: ['NEW_RELIC ', `NRII-${fake(32)}`], fp: 'NRII-short' },
  'plaid-access-token': {
    tp: [
      'PLAID ',
      `access-sandbox-${fake(8, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(12, HEX)}`,
    ],
    fp: 'access-sandbox-mode',
  },
  'sourcegraph-access-token': { tp: ['SRC_ACCESS_TOKEN=', `sgp_local_${fake(40, HEX)}`], fp: 'sgp_short' },
  'yandex-api-key': { tp: ['YC_API_KEY=', `AQVN${fake(36)}`], fp: 'AQVN short' },
  jwt: {
    tp: ['Authorization: Bearer ', `eyJ${fake(30)}.eyJ${fake(80)}.${fake(43)}`],
    fp: 'eyJ alone is just base64 of {"',
  },
  'pem-private-key': {
    tp: [
      'key file:\n',
      `-----BEGIN RSA PRIVATE KEY-----\n${fake(64)}\n${fake(64)}\n-----END RSA PRIVATE KEY-----`,
    ],
    fp: '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----',
  },
  'age-secret-key': {
    tp: ['# key\n', `AGE-SECRET-KEY-1${fake(58, 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L')}`],
    fp: 'AGE-SECRET-KEY-1 prefix',
  },
  'db-connection-password': {
    tp: ['DATABASE_URL=postgres://app:', `${fake(20)}`],
    fp: 'DATABASE_URL=postgres://db.internal:5432/app',
  },
  'url-basic-auth': { tp: ['curl https://deploy:', fake(18)], fp: 'curl https://example.com:8443/path?q=1' },
  'authorization-header': { tp: ['Authorization: Basic ', fake(28)], fp: 'Authorization: required' },
  'bearer-token': { tp: ['curl -H "x: Bearer ', fake(40)], fp: 'a bearer instrument is a bearer bond' },
  'key-name-assignment': {
    tp: ['STRIPE_KEY=', 'Xk9mQ2vL7pTzR4wN'],
    fp: '{"translation_key": "app.settings.title"}',
  },
  'generic-secret-assignment': { tp: ['DB_PASSWORD=', 'Xk9mQ2vL7pTz'], fp: 'password: $' + '{DB_PASSWORD}' },
  'cookie-header': { tp: ['Cookie: theme=dark; session=', fake(32)], fp: 'Cookie: theme=dark; lang=en-GB' },
  'cli-secret-flag': { tp: ['deploy --password ', fake(20)], fp: 'login --password-stdin < file' },
  'cli-password-short-flag': {
    tp: ['docker login -u ci -p ', fake(22)],
    fp: 'docker login -u ci --password-stdin',
  },
  'openssl-pass-argument': {
    tp: ['openssl pkcs12 -export -passout pass:', fake(16)],
    fp: 'openssl rsa -passin pass:$' + 'PW',
  },
  'mysql-password-flag': { tp: ['mysql -u root -h db -p', fake(14)], fp: 'mysql -u root -P 3306 -p' },
  'xml-secret-element': {
    tp: ['<server><password>', fake(24)],
    fp: `<password>$${'{'}env.PASSWORD}</password>`,
  },
  'name-value-pair': {
    tp: ['{"name": "DB_PASSWORD", "value": "', fake(24)],
    fp: '{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}',
  },
  'value-name-pair': {
    tp: ['{"value": "', fake(24)],
    fp: '{"value": "true", "name": "USE_TOKEN_AUTH"}',
  },
  'jwk-private-key': {
    tp: [
      '{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "d": "',
      fake(43),
    ],
    fp: '{"kty": "RSA", "e": "AQAB", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"}',
  },
  'der-private-key': {
    tp: ['ED25519_KEY=', `MC4CAQAwBQYDK2VwBCIEI${fake(43)}`],
    fp: 'MC4CAQAwBQYDK2Vw is how an Ed25519 key begins',
  },
  'der-rsa-private-key': {
    tp: ['key: ', `MIIEvQIBADANBgkqhkiG9w0BAQEFAASC${fake(600)}`],
    fp: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbW',
  },
  'secret-string-field': {
    tp: ['{"Name": "prod/db", "SecretString": "{\\"username\\":\\"app\\",\\"password\\":\\"', fake(24)],
    fp: '{"SecretStringRotation": "enabled"}',
  },
  'table-label-cell': {
    tp: ['<tr><td>Client secret</td><td><code>', fake(32)],
    fp: '<tr><td>Password</td><td>Changed 3 days ago</td></tr>',
  },
  'sql-identified-by': {
    tp: ["CREATE USER 'app'@'%' IDENTIFIED BY '", fake(16)],
    fp: 'IDENTIFIED BY PASSWORD',
  },
  'config-directive': {
    tp: ['account default\nuser alice\npassword ', fake(18)],
    fp: 'Password reset links expire after 24 hours.\n',
  },
  'yaml-anchored-secret': {
    tp: ['db:\n  password: &db_pw ', fake(20)],
    fp: 'db:\n  host: &db_host db.internal.example',
  },
  'pgpass-record': { tp: ['localhost:5432:appdb:appuser:', fake(18)], fp: 'daemon:*:19000:0:99999:7:::\n' },
  'cli-positional-password': {
    tp: ['htpasswd -b -c .htpasswd alice ', fake(18)],
    fp: 'htpasswd -c .htpasswd alice',
  },
  'cli-piped-password': {
    tp: ["echo 'alice:", fake(18)],
    fp: 'echo hello | docker login --password-stdin',
  },
  'cli-herestring-password': {
    tp: ['wrangler secret put API_KEY <<< ', fake(24)],
    fp: 'grep -c error <<< "Deploy-2024-release-notes"',
  },
  'zapier-webhook-url': {
    tp: ['https://hooks.zapier.com/hooks/catch/', `${fake(7, DIG)}/b${fake(6)}`],
    fp: 'https://hooks.zapier.com/hooks/catch/ in the docs',
  },
  'lark-webhook-url': {
    tp: [
      'https://open.feishu.cn/open-apis/bot/v2/hook/',
      `${fake(8, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(12, HEX)}`,
    ],
    fp: 'https://open.feishu.cn/open-apis/bot/v2/hook/',
  },
  'ifttt-webhook-key': {
    tp: ['https://maker.ifttt.com/trigger/door/with/key/', fake(22)],
    fp: 'https://maker.ifttt.com/trigger/door/with/key/YOUR_KEY',
  },
  'make-webhook-url': {
    tp: ['https://hook.eu1.make.com/', fake(32, 'abcdefghijklmnopqrstuvwxyz0123456789')],
    fp: 'https://www.make.com/en/help/tools/webhooks',
  },
  'google-apps-script-url': {
    tp: ['https://script.google.com/macros/s/', `AKfycb${fake(72)}`],
    fp: 'https://script.google.com/macros/s/AKfycbSHORT/exec',
  },
  'pagerduty-integration-url': {
    tp: ['https://events.pagerduty.com/integration/', fake(32, HEX)],
    fp: 'https://events.pagerduty.com/integration/KEY/enqueue',
  },
  'healthchecks-ping-url': {
    tp: [
      'curl https://hc-ping.com/',
      `${fake(8, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(4, HEX)}-${fake(12, HEX)}`,
    ],
    fp: 'https://hc-ping.com/your-uuid-here',
  },
  'webhook-path-token': {
    tp: ['https://chat.example.com/hooks/', fake(26)],
    fp: 'https://react.dev/reference/react/hooks/useSyncExternalStore',
  },
  'code-credential-pair': {
    tp: ['requests.get(url, auth=("admin", "', fake(20)],
    fp: 'requests.get(url, auth=(user, password))',
  },
  'shell-echoed-secret': { tp: ['$ echo $OPENAI_API_KEY\n', fake(40)], fp: '$ echo $HOME\n/home/alice' },
  'prose-secret-event': { tp: ['Token created: ', fake(24)], fp: 'Token created: yes' },
  'prose-secret-below': {
    tp: ['Please use the following password to proceed to installation:\n\n', fake(32, HEX)],
    fp: 'Use the following password policy:\n\nAt least twelve characters.',
  },
  'password-hash': { tp: ['admin:$2b$12$', fake(53)], fp: 'echo "$1$2" costs $5$' },
  'xml-named-secret': {
    tp: ['<entry key="jdbc.password">', fake(22)],
    fp: '<string name="password_hint">Enter your password here</string>',
  },
  'plist-secret': {
    tp: ['<key>APIKey</key>\n<string>', fake(22)],
    fp: '<key>CFBundleName</key><string>App</string>',
  },
  'hcl-variable-default': {
    tp: ['variable "db_password" {\n  default = "', fake(22)],
    fp: 'variable "db_password" {\n  sensitive = true\n}',
  },
  'env-set-call': { tp: ['os.Setenv("GITHUB_TOKEN", "', fake(22)], fp: 'os.Setenv("API_KEY", apiKey)' },
  'cli-echo-to-secret-file': { tp: ['echo "', fake(22)], fp: 'echo "$VAULT_TOKEN" > ~/.vault-token' },
  'secret-name-list': { tp: ['tokens = ["', fake(22)], fp: '"special_tokens": ["<s>", "</s>"]' },
  'url-parameter-credential': {
    tp: ['https://api.example.com/v1/items?key=', fake(24)],
    fp: 'https://example.com/api?key=orders-list-2024',
  },
  'url-userinfo-token': { tp: ['git clone https://', fake(40)], fp: 'ssh://git@github.com/org/repo' },
  'dockerfile-env-secret': {
    tp: ['FROM node:20\nENV API_TOKEN ', fake(24)],
    fp: 'ENV TOKEN_FILE /run/secrets/token',
  },
  'prose-secret-statement': {
    tp: ['Your new password is: ', fake(18)],
    fp: 'The password is compromised and was rotated.',
  },
  'cli-config-set-secret': {
    tp: ['aws configure set aws_secret_access_key ', fake(24)],
    fp: 'aws configure set region eu-west-1',
  },
  'protocol-pass-command': { tp: ['> USER alice\r\n> PASS ', fake(18)], fp: 'PASS src/app.test.ts\n' },
  'imap-login-command': { tp: ['a001 LOGIN alice ', fake(18)], fp: 'Users LOGIN with SSO daily.\n' },
  'redis-auth-command': { tp: ['127.0.0.1:6379> AUTH ', fake(18)], fp: 'C: AUTH LOGIN\n' },
  'sasl-plain-response': {
    tp: ['C: AUTH PLAIN ', Buffer.from(`\0alice\0${fake(18)}`).toString('base64')],
    fp: 'AUTH PLAIN bm90IGEgbG9naW4gYXQgYWxs',
  },
  'sasl-login-password': {
    tp: ['S: 334 UGFzc3dvcmQ6\r\nC: ', Buffer.from(fake(18)).toString('base64')],
    fp: 'S: 334 VXNlcm5hbWU6\r\nC: YWxpY2U=',
  },
  'netrc-password': {
    tp: ['machine api.example.com\n  login bot\n  password ', fake(24)],
    fp: 'login as admin to reset the password',
  },
  'secret-store-command': {
    tp: ['gh secret set DEPLOY_TOKEN --repo acme/app --body ', fake(30)],
    fp: 'gh secret set DEPLOY_TOKEN --body -',
  },
  'shell-set-secret': {
    tp: ['setx STRIPE_SECRET_KEY ', fake(30)],
    fp: 'set -gx API_TOKEN $API_TOKEN_FROM_VAULT',
  },
  'docker-config-auth': {
    tp: ['{"auths": {"registry.example": {"auth": "', Buffer.from(`ci:${fake(20)}`).toString('base64')],
    fp: '{"auth": "required"}',
  },
  'actions-add-mask': { tp: ['::add-mask::', fake(24)], fp: '::add-mask::$' + '{{ secrets.TOKEN }}' },
  'xml-secret-setting': {
    tp: ['<add key="StripeApiKey" value="', fake(28)],
    fp: '<add key="ApiKeyHeader" value="X-Api-Key"/>',
  },
};

/** Whether a pattern can match whitespace: `\s` or a space outside negated classes that exclude it. */
function canContainSpace(pattern: string): boolean {
  const negated = [...pattern.matchAll(/\[\^((?:\\.|[^\]\\])*)\]/g)];
  const rest = pattern.replace(/\[\^(?:\\.|[^\]\\])*\]/g, '');
  return /\\s| /.test(rest) || negated.some((m) => !m[1]!.includes('\\s'));
}

/** Index of the `n`-th capturing group's `(` in a pattern source. */
function captureGroupStart(pattern: string, n: number): number {
  let count = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') i++;
    else if (ch === '[') while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
    else if (ch === '(' && pattern[i + 1] !== '?' && ++count === n) return i;
  }
  return pattern.length;
}

/** Text after the secret, so right-boundary rules see an ending. */
const TAIL: Record<string, string> = {
  'xml-secret-element': '</password></server>',
  'xml-secret-setting': '" />',
  'value-name-pair': '", "name": "API_TOKEN"}',
  'sql-identified-by': "';",
  'config-directive': '\nport 587\n',
  'pgpass-record': '\n',
  'cli-positional-password': '\n',
  'cli-piped-password': "' | sudo chpasswd\n",
  'code-credential-pair': '"))',
  'secret-name-list': '"]',
  'xml-named-secret': '</entry>',
  'plist-secret': '</string>',
  'hcl-variable-default': '"\n}',
  'env-set-call': '")',
  'cli-echo-to-secret-file': '" > ~/.vault-token',
  'prose-secret-below': '\n',
  'shell-echoed-secret': '\n',
  'url-userinfo-token': '@github.com/org/repo',
  'protocol-pass-command': '\r\n',
  'imap-login-command': '\r\n',
  'redis-auth-command': '\n',
  'table-label-cell': '</code></td></tr>',
  'secret-string-field': '\\"}"}',
  'jwk-private-key': '"}',
  'docker-config-auth': '"}}}',
  'db-connection-password': '@db.internal:5432/app',
  'url-basic-auth': '@ci.example.com/hook',
  'gcp-service-account-key-id': '",',
};

describe('built-in credential rules', () => {
  it('number at least 40, with unique ids', () => {
    expect(BUILTIN_RULES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(BUILTIN_RULES.map((r) => r.id)).size).toBe(BUILTIN_RULES.length);
  });

  it('that start before their anchor declare the prefix character, so streams can hold it', () => {
    for (const rule of BUILTIN_RULES) if (rule.before) expect(rule.beforeChar, rule.id).toBeDefined();
  });

  it('each have a true-positive and a false-positive sample, here or in the gitleaks table', () => {
    const gitleaksCovered = new Set(GITLEAKS.samples.map((s) => s.rule));
    const missing = BUILTIN_RULES.map((r) => r.id).filter((id) => !SAMPLES[id] && !gitleaksCovered.has(id));
    expect(missing).toEqual([]);
    for (const id of Object.keys(SAMPLES))
      expect(
        BUILTIN_RULES.some((r) => r.id === id),
        id,
      ).toBe(true);
  });

  const scrubber = createScrubber();
  for (const rule of BUILTIN_RULES) {
    const sample = SAMPLES[rule.id];
    describe(rule.id, () => {
      it('passes the regex-safety lint', () => {
        expect(regexSafetyProblems(rule.pattern)).toEqual([]);
      });

      it('declares whether a match can contain whitespace', () => {
        expect(rule.spaces ?? false).toBe(canContainSpace(rule.pattern));
      });

      if (rule.spacesWithin !== undefined) {
        it('has whitespace only before its value, within the declared prefix', () => {
          const open = captureGroupStart(rule.pattern, rule.group ?? 0);
          expect(canContainSpace(rule.pattern.slice(open))).toBe(false);
          expect(maxMatchLength(rule.pattern.slice(0, open))).toBeLessThanOrEqual(rule.spacesWithin ?? 0);
        });
      }

      it('declares a stream window at least as long as its longest match', () => {
        expect(maxMatchLength(rule.pattern)).toBeLessThanOrEqual(rule.maxLength ?? 512);
      });

      if (!sample) return; // samples in test/scrub/gitleaks-coverage.json
      it('redacts a matching credential with its own marker', () => {
        const [context, secret] = sample.tp;
        const out = scrubber.text(`${context}${secret}${TAIL[rule.id] ?? ' end'}`);
        expect(out).toContain(`[REDACTED:${rule.id}]`);
        expect(out).not.toContain(secret);
      });

      it('leaves a look-alike alone', () => {
        expect(scrubber.text(sample.fp)).toBe(sample.fp);
      });
    });
  }
});

describe('acceptIn, the gate read in place', () => {
  /** Candidate values around the gates' edges: cases and digits missing, repeats, long, unicode. */
  function candidates(): string[] {
    const rng = seeded(99);
    const alphabets = [
      'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-',
      'abcdefghijklmnopqrstuvwxyz0123456789',
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef',
      'aB3',
      'aaaaaaaaaaaaaaaaB1',
      '0123456789abcdefABCDEF',
      'é中aB1😀',
    ];
    const out: string[] = [
      '',
      'a',
      'aB1',
      '0123456789abcdefABCDEFghijklmnop',
      // Placeholders, code references and text in a script written without spaces.
      '${GITHUB_TOKEN}',
      '{{ secret }}',
      'process.env.SECRET_KEY_VALUE',
      'os.environ.get',
      'changeme',
      'xxxxxxxxxxxx',
      'your-token-here',
      '12345678901234',
      '中文中文中文中文中文中文中文中文',
      'q8Zr2中文LkP0中文vXw7Ty',
      'config.secrets.primaryToken9',
    ];
    for (let k = 0; k < 4000; k++) {
      const alphabet = rng.pick(alphabets);
      const length = 1 + rng.int(k % 10 === 0 ? 300 : 70);
      const value = rng.text(alphabet, length);
      out.push(value);
    }
    return out;
  }

  it('equals accept on the same value for every rule that gives it, wherever the value stands', () => {
    const gated = BUILTIN_RULES.filter((rule) => rule.acceptIn);
    expect(gated.map((rule) => rule.id)).toEqual(
      expect.arrayContaining(['openai-api-key', 'generic-secret-assignment', 'bearer-token']),
    );
    let accepted = 0;
    let refused = 0;
    for (const rule of gated) {
      for (const [k, value] of candidates().entries()) {
        const before = ['', ' ', '"', 'x'][k % 4]!;
        const input = `${before}${value}${k % 3 === 0 ? ' tail' : ''}`;
        const start = before.length;
        const expected = rule.accept!(value, input[start - 1] ?? '');
        expect(rule.acceptIn!(input, start, start + value.length), `${rule.id}: ${value}`).toBe(expected);
        if (expected) accepted++;
        else refused++;
      }
    }
    expect(accepted).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });
});

describe("keys of LLM providers beyond OpenAI's shape, and of the services agents use", () => {
  const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  /** Each provider's published shape, as its keys are drawn: the gates must pass every one. */
  const SHAPES: [rule: string, key: (rng: ReturnType<typeof seeded>) => string][] = [
    ['llm-provider-api-key', (rng) => `sk-${rng.text(HEX, 32)}`],
    ['llm-provider-api-key', (rng) => `sk-${rng.text('abcdefghijklmnopqrstuvwxyz', 48)}`],
    ['nvidia-api-key', (rng) => `nvapi-${rng.text(`${ALNUM}_-`, 64)}`],
    ['together-api-key', (rng) => `tgp_v1_${rng.text(`${ALNUM}_-`, 43)}`],
    ['fireworks-api-key', (rng) => `fw_${rng.text(ALNUM, 24)}`],
    ['cerebras-api-key', (rng) => `csk-${rng.text('abcdefghijklmnopqrstuvwxyz0123456789', 48)}`],
    ['voyage-api-key', (rng) => `pa-${rng.text(`${ALNUM}_-`, 43)}`],
    ['elevenlabs-api-key', (rng) => `sk_${rng.text(HEX, 48)}`],
    ['supabase-access-token', (rng) => `sbp_${rng.text(HEX, 40)}`],
    ['neon-api-key', (rng) => `napi_${rng.text('abcdefghijklmnopqrstuvwxyz0123456789', 64)}`],
    ['e2b-api-key', (rng) => `e2b_${rng.text(HEX, 40)}`],
    ['firecrawl-api-key', (rng) => `fc-${rng.text(HEX, 32)}`],
    ['tavily-api-key', (rng) => `tvly-${rng.text(ALNUM, 32)}`],
  ];

  it.each(SHAPES.map(([rule, key], i) => ({ rule, key, seed: i + 1 })))(
    '$rule: 3,000 drawn keys (seed $seed), every one redacted whole, in prose and in an env line',
    ({ rule, key, seed }) => {
      const scrubber = createScrubber();
      const rng = seeded(seed);
      for (let i = 0; i < 3000; i++) {
        const secret = key(rng);
        expect(scrubber.text(`the key ${secret}, kept`), secret).toBe(`the key [REDACTED:${rule}], kept`);
        expect(scrubber.text(`API_KEY=${secret}\n`), secret).not.toContain(secret);
      }
    },
  );
});
