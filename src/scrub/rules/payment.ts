/** Payment provider credentials, from the published formats. */
import { shannonEntropy } from '../entropy.js';
import { L, R, RU, type SecretRule } from './types.js';

export const paymentRules: readonly SecretRule[] = [
  {
    id: 'stripe-secret-key',
    description: 'Stripe secret key (sk_live_, sk_test_)',
    anchors: ['sk_live_', 'sk_test_', 'sk_prod_'],
    pattern: `${L}sk_(?:live|test|prod)_[A-Za-z0-9]{10,247}${R}`,
  },
  {
    id: 'stripe-restricted-key',
    description: 'Stripe restricted key (rk_live_, rk_test_)',
    anchors: ['rk_live_', 'rk_test_'],
    pattern: `${L}rk_(?:live|test)_[A-Za-z0-9]{24,247}${R}`,
  },
  {
    id: 'stripe-webhook-secret',
    description: 'Stripe webhook signing secret (whsec_)',
    anchors: ['whsec_'],
    pattern: `${L}whsec_[A-Za-z0-9+/=]{32,88}${R}`,
  },
  {
    id: 'shopify-token',
    description:
      'Shopify access, custom-app, partner or shared-secret token (shpat_, shpca_, shppa_, shpss_)',
    anchors: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    pattern: `${L}shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}${R}`,
  },
  {
    id: 'square-token',
    description: 'Square access token or OAuth secret (sq0atp-, sq0csp-, EAAA)',
    anchors: ['sq0atp-', 'sq0csp-', 'EAAA'],
    pattern: `${L}(?:sq0atp-[A-Za-z0-9_-]{22,60}|sq0csp-[A-Za-z0-9_-]{43}|EAAA[A-Za-z0-9_-]{22,60})${RU}`,
    // `EAAAAAAAAA…` is in every base64 blob of binary with zeros in it.
    accept: (value) => shannonEntropy(value) >= 3,
  },
  {
    id: 'braintree-access-token',
    description: 'Braintree / PayPal production access token',
    anchors: ['access_token$production$'],
    pattern: `access_token\\$production\\$[0-9a-z]{16}\\$[0-9a-f]{32}${R}`,
  },
];
