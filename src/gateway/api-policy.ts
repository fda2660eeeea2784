/**
 * Policy routes of the operator API: what each profile offers (`GET /tools`,
 * the catalog's tools as the profile's rules expose them) and reloading the
 * policy file (`POST /policy/reload`, as `bulkhead reload` does). Reading needs
 * `view`, reloading `policy.reload`; a gateway built without a reloader
 * answers `not_found` rather than pretending to reload.
 */
import { Hono } from 'hono';
import { BulkheadError } from '../errors.js';
import type { Policy } from '../policy/schema/index.js';
import { guard, type OperatorEnv } from './api-guard.js';
import type { Catalog } from './catalog.js';
import type { ReloadOutcome } from './reload.js';
import type { Responder } from './respond.js';

export function policyRoutes(deps: {
  policy: Policy;
  catalog: Catalog;
  respond: Responder;
  /** Re-reads the policy file (`bulkhead reload`). */
  reload?: (actor: string) => Promise<ReloadOutcome>;
}): Hono<OperatorEnv> {
  const { respond } = deps;
  const routes = new Hono<OperatorEnv>();

  routes.post('/policy/reload', async (c) => {
    guard(c, 'policy.reload');
    if (!deps.reload) throw new BulkheadError('not_found', 'This gateway cannot reload its policy.');
    const outcome = await deps.reload(`operator:${c.get('operator').name}`);
    if (!outcome.ok) return respond.error(c, outcome);
    return respond.json(c, outcome);
  });

  routes.get('/tools', (c) => {
    guard(c, 'view');
    const profileName = c.req.query('profile');
    const profiles = Object.entries(deps.policy.profiles).filter(
      ([name]) => !profileName || name === profileName,
    );
    return respond.json(c, {
      profiles: profiles.map(([name, profile]) => ({
        profile: name,
        tools: deps.catalog.forProfile(profile.tools).map((t) => ({
          name: t.exposed,
          upstream: t.upstream,
          original: t.original,
          class: t.rule.class,
          gated: t.rule.approval !== undefined,
          description: t.definition.description,
          input_schema: t.definition.inputSchema,
        })),
      })),
    });
  });

  return routes;
}
