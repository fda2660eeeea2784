/** LLM provider API keys, from the published formats. */
import { asciiKindsIn, HAS_DIGIT, HAS_LOWER, HAS_UPPER, sampleEntropy, sampleEntropyIn } from '../entropy.js';
import { L, prefixed, R, RU, type SecretRule } from './types.js';

// Made once: a regex literal in a gate is a new RegExp object each call (no flags, so no state).
const DIGIT = /[0-9]/;
const UPPER = /[A-Z]/;
const LOWER = /[a-z]/;
const HEX_LETTER = /[a-f]/;

/** At least two of digits, upper-case and lower-case letters. */
const mixed = (value: string) =>
  Number(DIGIT.test(value)) + Number(UPPER.test(value)) + Number(LOWER.test(value)) >= 2;

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
    id: 'llm-provider-api-key',
    description:
      "An OpenAI-compatible provider's key: sk- + 32 hex (DeepSeek, Alibaba DashScope/Qwen) or sk- + 48 lower-case letters (SiliconFlow)",
    anchors: ['sk-'],
    pattern: `${L}sk-(?:[a-f0-9]{32}|[a-z]{48})${R}`,
    // Random hex has digits and letters; a slug or a run of one word has neither the mix nor the spread.
    accept: (key) =>
      key.length === 35
        ? DIGIT.test(key.slice(3)) && HEX_LETTER.test(key) && sampleEntropy(key.slice(3)) > 2.7
        : sampleEntropy(key.slice(3)) > 3.5,
  },
  prefixed('nvidia-api-key', 'NVIDIA API key (nvapi- + 64)', 'nvapi-', '[A-Za-z0-9_-]{64}', RU),
  prefixed('together-api-key', 'Together AI API key (tgp_v1_ + 43)', 'tgp_v1_', '[A-Za-z0-9_-]{43}', RU),
  {
    id: 'fireworks-api-key',
    description: 'Fireworks AI API key (fw_ + 24 letters and digits)',
    anchors: ['fw_'],
    pattern: `${L}fw_[A-Za-z0-9]{24}${R}`,
    // `fw_` also starts identifiers (`fw_versionstringformatted`): a key mixes cases or digits.
    accept: (key) => mixed(key.slice(3)) && sampleEntropy(key.slice(3)) > 3.2,
  },
  {
    id: 'cerebras-api-key',
    description: 'Cerebras API key (csk- + 48 lower-case letters and digits)',
    anchors: ['csk-'],
    pattern: `${L}csk-[a-z0-9]{48}${R}`,
    accept: (key) =>
      DIGIT.test(key.slice(4)) && LOWER.test(key.slice(4)) && sampleEntropy(key.slice(4)) > 3.5,
  },
  {
    id: 'voyage-api-key',
    description: 'Voyage AI API key (pa- + 43)',
    anchors: ['pa-'],
    pattern: `${L}pa-[A-Za-z0-9_-]{43}${RU}`,
    // `pa-` is also a CSS utility prefix: a key mixes kinds of character, with their spread.
    accept: (key) => mixed(key.slice(3)) && sampleEntropy(key.slice(3)) > 4,
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
