/**
 * The built-in credential rules, specific providers first: when a generic rule
 * and a provider rule match the same text, the marker names the provider.
 */
import { agentServiceRules } from './agent-services.js';
import { bulkheadRules } from './bulkhead.js';
import { capabilityUrlRules } from './capability-urls.js';
import { cloudRules } from './cloud.js';
import { codeCredentialRules } from './code-credentials.js';
import { commandArgumentRules } from './command-arguments.js';
import { configLineRules } from './config-lines.js';
import { configShapeRules } from './config-shapes.js';
import { genericRules } from './generic.js';
import { gitleaksRules } from './gitleaks.js';
import { gitleaksKeyedRules } from './gitleaks-keyed.js';
import { gitleaksMoreRules } from './gitleaks-more.js';
import { keyMaterialRules } from './key-material.js';
import { llmRules } from './llm.js';
import { namedSettingRules } from './named-settings.js';
import { pairedFieldRules } from './paired-fields.js';
import { passwordHashRules } from './password-hashes.js';
import { paymentRules } from './payment.js';
import { proseStatementRules } from './prose-statements.js';
import { protocolLoginRules } from './protocol-logins.js';
import { saasRules } from './saas.js';
import type { SecretRule } from './types.js';
import { urlParameterRules } from './url-parameters.js';
import { vcsRules } from './vcs.js';

export type { SecretRule } from './types.js';

export const BUILTIN_RULES: readonly SecretRule[] = [
  ...bulkheadRules,
  ...llmRules,
  ...agentServiceRules,
  ...cloudRules,
  ...vcsRules,
  ...saasRules,
  ...capabilityUrlRules,
  ...paymentRules,
  ...keyMaterialRules,
  ...passwordHashRules,
  ...gitleaksRules,
  ...gitleaksMoreRules,
  // Keyword rules after the token rules: a token both match is named by its format.
  ...gitleaksKeyedRules,
  ...configShapeRules,
  ...namedSettingRules,
  ...configLineRules,
  ...commandArgumentRules,
  ...codeCredentialRules,
  ...protocolLoginRules,
  ...proseStatementRules,
  ...urlParameterRules,
  ...pairedFieldRules,
  ...genericRules,
];
