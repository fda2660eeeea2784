/** Source hosting and package registry tokens, from the published formats. */
import { L, prefixed, RU, type SecretRule } from './types.js';

export const vcsRules: readonly SecretRule[] = [
  prefixed('github-pat', 'GitHub classic personal access token (ghp_ + 36)', 'ghp_', '[A-Za-z0-9]{36}'),
  prefixed('github-oauth-token', 'GitHub OAuth access token (gho_ + 36)', 'gho_', '[A-Za-z0-9]{36}'),
  prefixed('github-user-token', 'GitHub user-to-server token (ghu_ + 36)', 'ghu_', '[A-Za-z0-9]{36}'),
  prefixed('github-server-token', 'GitHub server-to-server token (ghs_ + 36)', 'ghs_', '[A-Za-z0-9]{36}'),
  prefixed('github-refresh-token', 'GitHub refresh token (ghr_ + 36..76)', 'ghr_', '[A-Za-z0-9]{36,76}'),
  prefixed(
    'github-fine-grained-pat',
    'GitHub fine-grained personal access token (github_pat_ + 22 + _ + 59)',
    'github_pat_',
    '[A-Za-z0-9]{22}_[A-Za-z0-9]{59}',
  ),
  prefixed('gitlab-pat', 'GitLab personal access token (glpat-)', 'glpat-', '[A-Za-z0-9_.-]{20,64}', RU),
  prefixed(
    'gitlab-runner-token',
    'GitLab runner authentication token (glrt-)',
    'glrt-',
    '[A-Za-z0-9_.-]{20,64}',
    RU,
  ),
  prefixed('gitlab-deploy-token', 'GitLab deploy token (gldt-)', 'gldt-', '[A-Za-z0-9_-]{20,64}', RU),
  prefixed(
    'gitlab-trigger-token',
    'GitLab pipeline trigger token (glptt- + 40 hex)',
    'glptt-',
    '[a-f0-9]{40}',
  ),
  prefixed('bitbucket-app-password', 'Bitbucket app password (ATBB)', 'ATBB', '[A-Za-z0-9_=.-]{32,64}', RU),
  prefixed('atlassian-api-token', 'Atlassian API token (ATATT3)', 'ATATT3', '[A-Za-z0-9_=-]{100,300}', RU),
  prefixed('npm-token', 'npm access token (npm_ + 36)', 'npm_', '[A-Za-z0-9]{36}'),
  {
    id: 'pypi-token',
    description: 'PyPI upload token (pypi- + macaroon for pypi.org)',
    anchors: ['pypi-AgEIcHlwaS5vcmc'],
    pattern: `${L}pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}${RU}`,
    maxLength: 1100,
  },
  prefixed(
    'docker-hub-pat',
    'Docker Hub personal access token (dckr_pat_)',
    'dckr_pat_',
    '[A-Za-z0-9_-]{27}',
    RU,
  ),
];
