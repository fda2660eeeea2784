/**
 * Keys of the services agents are most often given beside their LLM: voice, tracing, code
 * sandboxes, web search and scraping, vector stores, browsers, and the developer platforms a
 * coding agent deploys to. Each from its published prefix and shape; none is in gitleaks' set.
 */
import { L, prefixed, R, RU, type SecretRule } from './types.js';

const UUID = '[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}';

/** id, what it is, its prefix, the body after it; `RU` where the body may hold `-` and `_`. */
const PREFIXED: readonly [id: string, description: string, prefix: string, body: string, right?: string][] = [
  ['elevenlabs-api-key', 'ElevenLabs API key (sk_ + 48 hex)', 'sk_', '[a-f0-9]{48}'],
  ['langfuse-secret-key', 'Langfuse secret key (sk-lf- + a UUID)', 'sk-lf-', UUID],
  ['e2b-api-key', 'E2B API key (e2b_ + 40 hex)', 'e2b_', '[a-f0-9]{40}'],
  ['firecrawl-api-key', 'Firecrawl API key (fc- + 32 hex)', 'fc-', '[a-f0-9]{32}'],
  [
    'tavily-api-key',
    'Tavily API key (tvly-, tvly-dev-, tvly-prod- + 32)',
    'tvly-',
    '(?:dev-|prod-)?[A-Za-z0-9]{32}',
  ],
  ['browserbase-api-key', 'Browserbase API key (bb_live_)', 'bb_live_', '[A-Za-z0-9_-]{20,40}', RU],
  ['pinecone-api-key', 'Pinecone API key (pcsk_)', 'pcsk_', '[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,80}'],
  ['supabase-access-token', 'Supabase access token (sbp_ + 40 hex)', 'sbp_', '[a-f0-9]{40}'],
  ['supabase-secret-key', 'Supabase secret API key (sb_secret_)', 'sb_secret_', '[A-Za-z0-9_-]{20,64}', RU],
  ['neon-api-key', 'Neon API key (napi_ + 64)', 'napi_', '[a-z0-9]{64}'],
  ['netlify-personal-access-token', 'Netlify personal access token (nfp_ + 36)', 'nfp_', '[A-Za-z0-9]{36}'],
  ['render-api-key', 'Render API key (rnd_ + 32)', 'rnd_', '[A-Za-z0-9]{32}'],
  ['figma-token', 'Figma personal access token (figd_)', 'figd_', '[A-Za-z0-9_-]{40,50}', RU],
  ['linear-oauth-token', 'Linear OAuth access token (lin_oauth_ + 64 hex)', 'lin_oauth_', '[a-f0-9]{64}'],
];

export const agentServiceRules: readonly SecretRule[] = [
  ...PREFIXED.map(([id, description, prefix, body, right]) => prefixed(id, description, prefix, body, right)),
  {
    id: 'tailscale-key',
    description: 'Tailscale auth, API or OAuth client key (tskey-)',
    anchors: ['tskey-'],
    pattern: `${L}tskey-[a-z]{3,10}-[A-Za-z0-9]{4,32}-[A-Za-z0-9]{16,64}${R}`,
  },
  {
    id: 'hubspot-private-app-token',
    description: 'HubSpot private app access token (pat-na1-, pat-eu1-, … + a UUID)',
    anchors: ['pat-'],
    pattern: `${L}pat-(?:na|eu|ap)[0-9]-${UUID}${R}`,
  },
];
