/**
 * bulkhead's own credentials: run tokens, operator tokens, and what the OAuth
 * authorization server issues (grants, codes, access and refresh tokens).
 * Known ones are also added to the scrubber when minted; the rule catches the
 * rest (a token minted by another replica, or one an agent repeats).
 */
import { L, RU, type SecretRule } from './types.js';

export const bulkheadRules: readonly SecretRule[] = [
  {
    id: 'bulkhead-token',
    description: 'bulkhead run, operator, grant, code, access or refresh token (bh?_ + 43)',
    anchors: ['bhr_', 'bho_', 'bhg_', 'bha_', 'bhf_', 'bhc_', 'bhq_'],
    pattern: `${L}bh[rogafcq]_[A-Za-z0-9_-]{43}${RU}`,
  },
];
