/**
 * The gateway's HTTP surface, one Hono app: the agents' MCP endpoint (`/mcp`), the operators' API
 * (`/api`) and dashboard (`/ui`), OAuth for clients that cannot set a header, the LLM proxy
 * (`/v1`), `/metrics`, and the health probes.
 */
import { createServer as createHttpsServer } from 'node:https';
import { type HttpBindings, type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApprovalService } from '../approvals/service.js';
import { createDashboard } from '../dashboard/index.js';
import { sessionId, sessionOperator } from '../dashboard/session-auth.js';
import type { Sessions } from '../dashboard/sessions.js';
import type { AuditCheckpoints } from '../events/checkpoints.js';
import type { EventWriter } from '../events/writer.js';
import { createLlmProxy } from '../llm/proxy.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { Policy } from '../policy/schema/index.js';
import { resolveSecret, type SecretSource } from '../policy/secrets.js';
import type { ReplicaLease } from '../replicas/lease.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import type { Store } from '../store/store.js';
import { llmTracing } from '../telemetry/llm-tracing.js';
import type { Tracing } from '../telemetry/tracing.js';
import { createApi } from './api.js';
import type { Catalog } from './catalog.js';
import { createHealth } from './health.js';
import { healthReport } from './health-report.js';
import type { McpEndpoint } from './mcp-endpoint.js';
import type { Metrics } from './metrics.js';
import { mountOAuth, type OAuthMount } from './oauth/index.js';
import type { OperatorAuth } from './operators.js';
import type { ReloadOutcome } from './reload.js';
import type { Responder } from './respond.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface HttpAppDeps {
  policy: Policy;
  source: SecretSource;
  store: Store;
  runs: RunService;
  catalog: Catalog;
  pool: UpstreamPool;
  lease: ReplicaLease;
  audit: AuditCheckpoints;
  events: EventWriter;
  approvals: ApprovalService;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
  /** The sinks' scrubber. */
  scrubber: Scrubber;
  /** What a profile's agents receive is scrubbed with; read at each request, as a reload replaces it. */
  scrubberFor: (profile: string) => Scrubber;
  mcp: McpEndpoint;
  sessions: Sessions;
  operators: OperatorAuth;
  respond: Responder;
  tracing: Tracing | undefined;
  now: () => number;
  /** Read live: the gateway's own URL is known once it listens. */
  url: () => string;
  publicUrl: () => string;
  /** False once the gateway is closing: the readiness probe says so. */
  accepting: () => boolean;
  reload: (actor: string) => Promise<ReloadOutcome>;
}

/** The app, and its OAuth mount when the policy turns OAuth on (the MCP endpoint's challenge names it). */
export function createHttpApp(deps: HttpAppDeps): { app: Hono; oauth: OAuthMount | undefined } {
  const { policy, store, runs, pool, logger, scrubber, metrics, respond, sessions, mcp } = deps;
  const app = new Hono();
  // Node's request and response beside the web ones: the endpoint reads a call's body from the
  // request (declared-body.ts) and pools a long answer's bytes until the response sent them.
  const endpoint = new Hono<{ Bindings: Partial<HttpBindings> }>();
  endpoint.all('/', (c) => mcp.handle(c.req.raw, c.env));
  app.route('/mcp', endpoint);
  // A dashboard sign-in may have been made, or ended, on another replica.
  for (const path of ['/api/*', '/ui/*']) {
    app.use(path, async (c, next) => {
      // The store unreachable: this replica answers from what it knows, and says so in the log.
      await sessions
        .hydrate(sessionId(c.req.raw))
        .catch((err: unknown) => logger.warn({ err }, 'dashboard session not read from the store'));
      return next();
    });
  }
  // Clients that cannot set a header connect through OAuth with a one-time run grant.
  const oauth = policy.gateway.oauth
    ? mountOAuth(app, {
        credentials: store.credentials,
        runs,
        now: deps.now,
        logger,
        baseUrl: deps.publicUrl,
      })
    : undefined;
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: (c) => respond.error(c, { code: 'bad_request', message: 'The body is too large.' }),
    }),
  );
  app.route(
    '/api',
    createApi({
      health: () => healthReport({ store, pool, lease: deps.lease, audit: deps.audit }),
      policy,
      store,
      runs,
      catalog: deps.catalog,
      pool,
      operators: deps.operators,
      respond,
      events: deps.events,
      scrubber,
      sessionOperator: sessionOperator(sessions),
      approvals: deps.approvals,
      mcpUrl: () => `${deps.url()}/mcp`,
      reload: deps.reload,
    }),
  );
  app.route('/ui', createDashboard({ operators: deps.operators, sessions, respond }));
  if (policy.llm && deps.tracing) app.use('/v1/*', llmTracing(deps.tracing, runs));
  if (policy.llm) {
    const apiKey = resolveSecret(policy.llm.api_key, deps.source, 'llm.api_key');
    app.route(
      '/v1',
      createLlmProxy({
        policy,
        apiKey,
        store,
        runs,
        events: deps.events,
        logger,
        notifier: deps.notifier,
        scrubberFor: deps.scrubberFor,
      }),
    );
  }
  app.get('/metrics', async (c) => {
    await metrics.collect();
    return c.text(scrubber.text(await metrics.registry.metrics()), 200, {
      'content-type': metrics.registry.contentType,
    });
  });
  app.route(
    '/',
    createHealth({
      store,
      accepting: deps.accepting,
      upstreams: () =>
        pool.status().map((s) => ({ ...s, required: policy.upstreams[s.name]?.required ?? true })),
    }),
  );
  app.notFound((c) => respond.error(c, { code: 'not_found', message: 'No such endpoint.' }));
  app.onError((error, c) => respond.failAt(c, error));
  return { app, oauth };
}

/** Serves `app` on `hostname:port`, over TLS when a certificate is given. */
export function listen(
  app: Hono,
  port: number,
  hostname: string,
  tls: { cert: string; key: string } | undefined,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const base = { fetch: app.fetch, port, hostname };
    const server = tls
      ? serve(
          { ...base, createServer: createHttpsServer, serverOptions: { cert: tls.cert, key: tls.key } },
          () => resolve(server),
        )
      : serve(base, () => resolve(server));
    // A slow client cannot hold a socket open forever sending headers.
    (server as { headersTimeout?: number }).headersTimeout = 15_000;
    (server as { requestTimeout?: number }).requestTimeout = 60_000;
    server.once('error', reject);
  });
}
