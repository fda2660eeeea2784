/**
 * The environment an agent started without the jail gets for its LLM
 * traffic: the proxy's address and the run token in the variables the SDKs
 * and coding agents read, and no real provider credential, so the agent's
 * LLM calls go through bulkhead (budgets, side doors, scrubbing) even when
 * nothing forces its network. Variables that switch an agent to another
 * provider's endpoint (Bedrock, Vertex) are removed too.
 */

/** Credentials and switches that would let an agent reach an LLM API around the proxy. */
export const PROVIDER_VARIABLES = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CODE_USE_BEDROCK',
  'CLAUDE_CODE_USE_VERTEX',
  'AWS_BEARER_TOKEN_BEDROCK',
  'OPENAI_API_KEY',
  'OPENAI_ORG_ID',
  'AZURE_OPENAI_API_KEY',
  'OPENROUTER_API_KEY',
  'GEMINI_API_KEY',
  'GOOGLE_API_KEY',
  'MISTRAL_API_KEY',
  'GROQ_API_KEY',
  'DEEPSEEK_API_KEY',
  'XAI_API_KEY',
  'TOGETHER_API_KEY',
  'FIREWORKS_API_KEY',
] as const;

export function llmEnvironment(
  env: NodeJS.ProcessEnv,
  gatewayUrl: string,
  token: string,
): { env: NodeJS.ProcessEnv; removed: string[] } {
  const out: NodeJS.ProcessEnv = { ...env };
  const removed = PROVIDER_VARIABLES.filter((name) => out[name] !== undefined);
  for (const name of PROVIDER_VARIABLES) delete out[name];
  const base = gatewayUrl.replace(/\/+$/, '');
  out.ANTHROPIC_BASE_URL = base;
  out.ANTHROPIC_API_KEY = token;
  // The OpenAI-compatible front door (/v1/chat/completions) takes the same run token.
  out.OPENAI_BASE_URL = `${base}/v1`;
  out.OPENAI_API_KEY = token;
  return { env: out, removed };
}
