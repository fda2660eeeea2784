/**
 * The operator HTTP API (`/api/*`): the one gate in front of its routes.
 * Every request must carry an operator credential (a bearer operator token, or
 * a signed-in dashboard session) or is refused `unauthorized` before any route
 * runs; each route then checks its own permission (api-guard.ts). Errors
 * become their stable codes through one handler, and every response goes
 * through the scrubber but the two that carry a secret the operator asked for
 * (a run's token and one-time grant, api-runs.ts).
 *
 * The routes live by resource: runs (api-runs.ts), what the sandbox reports
 * about a run (api-run-reports.ts), approvals (api-approvals.ts), the audit
 * log (api-events.ts, api-stream.ts), the policy and its tools (api-policy.ts).
 */
import { Hono } from 'hono';
import type { ApprovalService } from '../approvals/service.js';
import type { EventWriter } from '../events/writer.js';
import type { Policy } from '../policy/schema/index.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import type { Store } from '../store/store.js';
import { approvalRoutes } from './api-approvals.js';
import { eventRoutes } from './api-events.js';
import type { OperatorEnv } from './api-guard.js';
import { policyRoutes } from './api-policy.js';
import { runReportRoutes } from './api-run-reports.js';
import { runRoutes } from './api-runs.js';
import { createStream } from './api-stream.js';
import { bearer } from './bearer.js';
import type { Catalog } from './catalog.js';
import type { Operator, OperatorAuth } from './operators.js';
import type { ReloadOutcome } from './reload.js';
import type { Responder } from './respond.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface ApiDeps {
  /** The full health report (store, upstreams, lease, audit chain); answered without waiting on locks. */
  health?: () => Promise<unknown>;
  policy: Policy;
  store: Store;
  runs: RunService;
  catalog: Catalog;
  pool: UpstreamPool;
  operators: OperatorAuth;
  respond: Responder;
  /** Live events for `/api/stream`. */
  events: EventWriter;
  scrubber: Scrubber;
  /** A signed-in dashboard session as an alternative to the bearer token; enforces CSRF on state changes. */
  sessionOperator?: (request: Request) => Operator | undefined;
  approvals: ApprovalService;
  /** The URL agents use for MCP, as seen from where the run is started. */
  mcpUrl: () => string;
  /** Re-reads the policy file (`bulkhead reload`). */
  reload?: (actor: string) => Promise<ReloadOutcome>;
}

export function createApi(deps: ApiDeps): Hono<OperatorEnv> {
  const { respond } = deps;
  const api = new Hono<OperatorEnv>();

  const authenticate = (request: Request) =>
    deps.operators.authenticate(bearer(request.headers.get('authorization'))) ??
    deps.sessionOperator?.(request);
  // Registered before every route below, so none of them runs for a request without an operator.
  api.use('*', async (c, next) => {
    const operator = authenticate(c.req.raw);
    if (!operator)
      return respond.error(c, { code: 'unauthorized', message: 'An operator token is required.' });
    c.set('operator', operator);
    return next();
  });

  api.onError((error, c) => respond.fail(c, error));

  api.route('/approvals', approvalRoutes(deps));
  api.route('/', policyRoutes(deps));
  api.route(
    '/stream',
    createStream({
      events: deps.events,
      store: deps.store.events,
      scrub: (value) => deps.scrubber.value(value),
      stillAuthorized: (request) => authenticate(request) !== undefined,
    }),
  );

  api.get('/health', async (c) =>
    respond.json(c, deps.health ? await deps.health() : { ok: true, upstreams: deps.pool.status() }),
  );

  api.get('/whoami', (c) => respond.json(c, c.get('operator')));

  api.route('/', runRoutes(deps));
  api.route('/', runReportRoutes(deps));
  api.route('/', eventRoutes(deps));

  return api;
}
