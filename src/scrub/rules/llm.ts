/** LLM provider API keys, from the published formats. */
import { asciiKindsIn, HAS_DIGIT, HAS_LOWER, HAS_UPPER, sampleEntropy, sampleEntropyIn } from '../entropy.js';
import { L, prefixed, R, RU, type SecretRule } from './types.js';

// Made once: a regex literal in a gate is a new RegExp object each call (no flags, so no state).
const DIGIT = /[0-9]/;
const UPPER = /[A-Z]/;
const LOWER = /[a-z]/;

export const llmRules: readonly SecretRule[] = [
  {
    id: 'anthropic-api-key',
    description: 'Anthropic API, admin or OAuth key (sk-ant-api03-, sk-ant-admin01-, sk-ant-oat01-)',
    anchors: ['sk-ant-'],
    pattern: `${L}sk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_-]{80,120}${RU}`,
  },
  prefixed('openrouter-api-key', 'OpenRouter API key (sk-or-v1- + 64 hex)', 'sk-or-v1-', '[a-f0-9]{64}'),
  {
    id: 'openai-api-key',
    description: 'OpenAI API key (sk-, sk-proj-, sk-svcacct-, sk-admin-)',
    anchors: ['sk-'],
    pattern: `${L}sk-(?!ant-|or-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}${RU}`,
    // A slug like `sk-learn-tutorial-notebook` has the shape but not the randomness of a key.
    accept: (key) => DIGIT.test(key) && UPPER.test(key) && LOWER.test(key) && sampleEntropy(key) > 4,
    acceptIn: (input, start, end) =>
      asciiKindsIn(input, start, end) === (HAS_DIGIT | HAS_UPPER | HAS_LOWER) &&
      sampleEntropyIn(input, start, end) > 4,
  },
  {
    id: 'huggingface-token',
    description: 'Hugging Face access token (hf_ + 34 letters)',
    anchors: ['hf_'],
    pattern: `${L}hf_[A-Za-z]{34}${R}`,
    accept: (token) => UPPER.test(token.slice(3)) && LOWER.test(token.slice(3)),
  },
  prefixed('groq-api-key', 'Groq API key (gsk_ + 52)', 'gsk_', '[A-Za-z0-9]{52}'),
  prefixed('replicate-token', 'Replicate API token (r8_ + 37)', 'r8_', '[A-Za-z0-9]{37}'),
  prefixed('xai-api-key', 'xAI API key (xai- + 80)', 'xai-', '[A-Za-z0-9]{80}'),
  prefixed('perplexity-api-key', 'Perplexity API key (pplx- + 48)', 'pplx-', '[A-Za-z0-9]{48}'),
  {
    id: 'langsmith-api-key',
    description: 'LangSmith API key (lsv2_pt_, lsv2_sk_)',
    anchors: ['lsv2_pt_', 'lsv2_sk_'],
    pattern: `${L}lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}${R}`,
  },
];
