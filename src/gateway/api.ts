/**
 * The operator HTTP API (`/api/*`): create, list, complete and kill runs,
 * read the audit log and the catalog. Every route needs an operator token
 * with the right role; every response goes through the scrubber.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { ApprovalService } from '../approvals/service.js';
import { BulkheadError } from '../errors.js';
import { EVENT_KINDS, type EventFilter } from '../events/event.js';
import { type DecisionCounts, emptyCounts } from '../events/stats.js';
import type { EventWriter } from '../events/writer.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import type { Store } from '../store/store.js';
import { approvalRoutes } from './api-approvals.js';
import { parseWait, waitForRunEnd } from './api-run-end.js';
import { createStream } from './api-stream.js';
import { bearer } from './bearer.js';
import { parseBody, parseQuery } from './body.js';
import type { Catalog } from './catalog.js';
import { can, type Operator, type OperatorAuth, type Permission } from './operators.js';
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

type Env = { Variables: { operator: Operator } };

const statsQuery = z
  .object({
    run: z.string().max(100).optional(),
    minutes: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(60),
    buckets: z.coerce.number().int().min(1).max(240).default(60),
  })
  .strict();

const createRunBody = z
  .object({
    profile: z.string().min(1),
    label: z.string().max(200).optional(),
    ttl_ms: z.number().int().positive().optional(),
    /** Also mint a one-time grant, for an OAuth client that cannot send the run token. */
    grant: z.boolean().optional(),
  })
  .strict();

const completeBody = z.object({
  exit_code: z.number().int().nullable().optional(),
  reason: z.string().max(500).optional(),
});
const killBody = z.object({ reason: z.string().max(500).optional() }).default({});

export interface Usage {
  dimension: 'tool_calls' | 'wall_clock' | 'input_tokens' | 'output_tokens' | 'total_tokens' | 'usd';
  used: number;
  cap: number | null;
}

export interface RunView {
  id: string;
  profile: string;
  state: Run['state'];
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
  exit_code: number | null;
  label: string | null;
  taint: Run['taint'];
  usage: Usage[];
  /** Tool calls by decision: a run refused ten times is not "clean", whatever its taint. */
  calls: DecisionCounts;
}

/** A run as operators see it, with its usage against each budget of its profile. */
export async function runView(
  run: Run,
  policy: Policy,
  store: Store,
  now = Date.now(),
  counts?: DecisionCounts,
): Promise<RunView> {
  const budgets = policy.profiles[run.profile]?.budgets;
  const [calls, tokens] = await Promise.all([store.calls.usage(run.id), store.tokens.usage(run.id)]);
  return {
    id: run.id,
    profile: run.profile,
    state: run.state,
    created_at: run.createdAt,
    expires_at: run.expiresAt,
    ended_at: run.endedAt,
    end_reason: run.endReason,
    exit_code: run.exitCode,
    label: run.label,
    taint: run.taint,
    calls: counts ?? (await store.stats.decisionsByRun([run.id])).get(run.id) ?? emptyCounts(),
    usage: [
      { dimension: 'tool_calls', used: calls.calls, cap: budgets?.tool_calls ?? null },
      {
        dimension: 'wall_clock',
        used: (run.endedAt ?? now) - run.createdAt,
        cap: run.expiresAt - run.createdAt,
      },
      // LLM usage as settled (cache tokens weighted as the budget counts them); open requests are not in it yet.
      { dimension: 'input_tokens', used: tokens.input, cap: budgets?.tokens?.input ?? null },
      { dimension: 'output_tokens', used: tokens.output, cap: budgets?.tokens?.output ?? null },
      ...(budgets?.tokens?.total !== undefined
        ? [
            {
              dimension: 'total_tokens' as const,
              used: tokens.input + tokens.output,
              cap: budgets.tokens.total,
            },
          ]
        : []),
      { dimension: 'usd', used: tokens.usd, cap: budgets?.usd ?? null },
    ],
  };
}

export function createApi(deps: ApiDeps): Hono<Env> {
  const { respond } = deps;
  const api = new Hono<Env>();
  const view = (run: Run) => runView(run, deps.policy, deps.store);

  const authenticate = (request: Request) =>
    deps.operators.authenticate(bearer(request.headers.get('authorization'))) ??
    deps.sessionOperator?.(request);
  api.use('*', async (c, next) => {
    const operator = authenticate(c.req.raw);
    if (!operator)
      return respond.error(c, { code: 'unauthorized', message: 'An operator token is required.' });
    c.set('operator', operator);
    return next();
  });

  const guard = (c: { get(key: 'operator'): Operator }, permission: Permission) => {
    if (!can(c.get('operator'), permission)) {
      throw new BulkheadError('forbidden', `This operator may not ${permission.replace('.', ' ')}.`);
    }
  };

  api.onError((error, c) => respond.fail(c, error));

  api.route('/approvals', approvalRoutes(deps));

  api.post('/policy/reload', async (c) => {
    guard(c, 'policy.reload');
    if (!deps.reload) throw new BulkheadError('not_found', 'This gateway cannot reload its policy.');
    const outcome = await deps.reload(`operator:${c.get('operator').name}`);
    if (!outcome.ok) return respond.error(c, outcome);
    return respond.json(c, outcome);
  });

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

  api.post('/runs', async (c) => {
    guard(c, 'runs.create');
    const body = await parseBody(c.req.raw, createRunBody);
    const { run, token } = await deps.runs.create(body.profile, {
      ...(body.label !== undefined ? { label: body.label } : {}),
      ...(body.ttl_ms !== undefined ? { ttlMs: body.ttl_ms } : {}),
      actor: `operator:${c.get('operator').name}`,
    });
    // The one response that carries a run token: the caller needs it to start the agent.
    // It is built without the scrubber on purpose, and never logged.
    const grant = body.grant ? await deps.runs.mintGrant(run.id) : undefined;
    return c.json(
      {
        run_id: run.id,
        token,
        mcp_url: deps.mcpUrl(),
        expires_at: new Date(run.expiresAt).toISOString(),
        ...(grant ? { grant: grant.grant, grant_expires_at: new Date(grant.expiresAt).toISOString() } : {}),
      },
      201,
    );
  });

  // A fresh one-time grant for an active run (the first expired, or another client must connect).
  api.post('/runs/:id/grants', async (c) => {
    guard(c, 'runs.create');
    const { grant, expiresAt } = await deps.runs.mintGrant(c.req.param('id'));
    return c.json({ grant, expires_at: new Date(expiresAt).toISOString() }, 201);
  });

  api.get('/runs', async (c) => {
    guard(c, 'view');
    const state = c.req.query('state');
    const runs = await deps.runs.list(state ? { state: state as Run['state'] } : {});
    // One grouped query for every run's counts, not one per run.
    const counts = await deps.store.stats.decisionsByRun(runs.map((r) => r.id));
    return respond.json(c, {
      runs: await Promise.all(
        runs.map((r) => runView(r, deps.policy, deps.store, Date.now(), counts.get(r.id) ?? emptyCounts())),
      ),
    });
  });

  // Calls and refusals over time, overall or for one run: the dashboard's chart.
  api.get('/stats/calls', async (c) => {
    guard(c, 'view');
    const query = parseQuery(c.req.query(), statsQuery);
    const bucketMs = Math.max(1_000, Math.ceil((query.minutes * 60_000) / query.buckets));
    const since = Math.floor((Date.now() - query.minutes * 60_000) / bucketMs) * bucketMs + bucketMs;
    const buckets = await deps.store.stats.callHistogram({
      since,
      bucketMs,
      buckets: query.buckets,
      ...(query.run ? { runId: query.run } : {}),
    });
    return respond.json(c, { bucket_ms: bucketMs, buckets });
  });

  api.get('/runs/:id', async (c) => {
    guard(c, 'view');
    const run = await deps.runs.get(c.req.param('id'));
    if (!run) throw new BulkheadError('not_found', 'No run with that id.');
    const events = await deps.store.events.list({ runId: run.id, limit: 200 });
    return respond.json(c, { run: await view(run), events });
  });

  // The jail's kill watcher: answered the moment the run is killed or expires (api-run-end.ts).
  api.get('/runs/:id/ended', async (c) => {
    guard(c, 'view');
    return respond.json(c, await waitForRunEnd(deps.runs, c.req.param('id'), parseWait(c), c.req.raw.signal));
  });

  api.post('/runs/:id/complete', async (c) => {
    guard(c, 'runs.complete');
    const body = await parseBody(c.req.raw, completeBody);
    const id = c.req.param('id');
    const exitCode = body.exit_code ?? null;
    const ended = await deps.runs.end(
      id,
      'completed',
      body.reason ?? `exited with ${exitCode ?? 'no code'}`,
      {
        exitCode,
        actor: `operator:${c.get('operator').name}`,
      },
    );
    const run = ended ?? (await deps.runs.get(id));
    if (!run) throw new BulkheadError('not_found', 'No run with that id.');
    return respond.json(c, { run: await view(run), ended: ended !== undefined });
  });

  api.post('/runs/:id/kill', async (c) => {
    guard(c, 'runs.kill');
    const body = await parseBody(c.req.raw, killBody);
    const operator = c.get('operator').name;
    const id = c.req.param('id');
    const ended = await deps.runs.end(id, 'killed', body.reason ?? `killed by ${operator}`, {
      actor: `operator:${operator}`,
    });
    const run = ended ?? (await deps.runs.get(id));
    if (!run) throw new BulkheadError('not_found', 'No run with that id.');
    return respond.json(c, { run: await view(run), killed: ended !== undefined });
  });

  const egressBody = z
    .object({
      method: z.enum(['CONNECT', 'HTTP']),
      host: z.string().max(300),
      port: z.number().int(),
      decision: z.enum(['allow', 'deny']),
      reason: z.string().max(300),
      address: z.string().max(100).optional(),
      sni: z.string().max(300).optional(),
    })
    .strict();

  // The sandbox's egress proxy runs beside the agent (bulkhead run); it reports every attempt here.
  api.post('/runs/:id/egress', async (c) => {
    guard(c, 'runs.complete');
    const body = await parseBody(c.req.raw, egressBody);
    await deps.events.write({
      kind: 'egress',
      runId: c.req.param('id'),
      decision: body.decision,
      code: body.decision === 'deny' ? 'egress_denied' : null,
      actor: `operator:${c.get('operator').name}`,
      data: body,
    });
    return respond.json(c, { recorded: true });
  });

  const workdirBody = z
    .object({
      kind: z.enum(['held_back', 'dropped']),
      path: z.string().max(2000),
      change: z.enum(['created', 'modified', 'deleted']).optional(),
      reason: z.string().max(500),
    })
    .strict();

  // The jail's merge at exit reports what it did not carry back to the host workdir, and why.
  api.post('/runs/:id/workdir', async (c) => {
    guard(c, 'runs.complete');
    const body = await parseBody(c.req.raw, workdirBody);
    await deps.events.write({
      kind: 'workdir',
      runId: c.req.param('id'),
      decision: 'deny',
      code: body.kind === 'held_back' ? 'workdir_held_back' : 'workdir_dropped',
      actor: `operator:${c.get('operator').name}`,
      data: body,
    });
    return respond.json(c, { recorded: true });
  });

  api.post('/kill-all', async (c) => {
    guard(c, 'runs.kill');
    const operator = c.get('operator').name;
    const active = await deps.runs.list({ state: 'active', limit: 100_000 });
    const killed = await Promise.all(
      active.map((r) =>
        deps.runs.end(r.id, 'killed', `kill-all by ${operator}`, { actor: `operator:${operator}` }),
      ),
    );
    return respond.json(c, { killed: killed.filter(Boolean).map((r) => r?.id) });
  });

  api.get('/events', async (c) => {
    guard(c, 'view');
    const filter = parseEventFilter(c.req.query());
    const [events, total] = await Promise.all([
      deps.store.events.list(filter),
      deps.store.events.count({ ...filter, beforeId: undefined, afterId: undefined, limit: undefined }),
    ]);
    const last = events.at(-1);
    return respond.json(c, {
      events,
      total,
      next_before: events.length === (filter.limit ?? 100) && last ? last.id : null,
    });
  });

  api.get('/tools', (c) => {
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

  return api;
}

const eventQuery = z.object({
  run: z.string().optional(),
  tool: z.string().optional(),
  kind: z.enum(EVENT_KINDS).optional(),
  decision: z.enum(['allow', 'deny', 'hold']).optional(),
  code: z.string().optional(),
  since: z.coerce.number().int().optional(),
  until: z.coerce.number().int().optional(),
  before: z.coerce.number().int().optional(),
  after: z.coerce.number().int().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export function parseEventFilter(query: Record<string, string>): EventFilter {
  const parsed = eventQuery.safeParse(query);
  if (!parsed.success)
    throw new BulkheadError('bad_request', `invalid filter: ${parsed.error.issues[0]?.path.join('.')}`);
  const q = parsed.data;
  const filter: EventFilter = { limit: q.limit ?? 100 };
  if (q.run) filter.runId = q.run;
  if (q.tool) filter.tool = q.tool;
  if (q.kind) filter.kind = q.kind;
  if (q.decision) filter.decision = q.decision;
  if (q.code) filter.code = q.code;
  if (q.since !== undefined) filter.since = q.since;
  if (q.until !== undefined) filter.until = q.until;
  if (q.before !== undefined) filter.beforeId = q.before;
  if (q.after !== undefined) filter.afterId = q.after;
  return filter;
}
