/**
 * Run routes of the operator API: create a run (and its one-time grant), list
 * and read runs, wait for a run's end, complete or kill one, kill them all.
 * Each route checks its permission (`guard`) before reading its body; the
 * operator who acted is recorded as the actor of every change. Only
 * `POST /runs` answers with a run token, and only to the operator who made it.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { BulkheadError } from '../errors.js';
import { emptyCounts } from '../events/stats.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import { HOST_LAUNCHER_TAG } from '../sandbox/runtime-folder.js';
import type { Store } from '../store/store.js';
import { guard, type OperatorEnv } from './api-guard.js';
import { parseWait, waitForRunEnd } from './api-run-end.js';
import { runView } from './api-run-view.js';
import { parseBody } from './body.js';
import type { Responder } from './respond.js';

const createRunBody = z
  .object({
    profile: z.string().min(1),
    label: z.string().max(200).optional(),
    ttl_ms: z.number().int().positive().optional(),
    /** Also mint a one-time grant, for an OAuth client that cannot send the run token. */
    grant: z.boolean().optional(),
    /** The `bulkhead run` process holding the run's jail (runs/launcher-watch.ts). */
    launcher: z
      .string()
      .regex(HOST_LAUNCHER_TAG, 'a process as <boot id>/o<pid namespace>.<pid>.<start time>')
      .optional(),
  })
  .strict();

const completeBody = z.object({
  exit_code: z.number().int().nullable().optional(),
  reason: z.string().max(500).optional(),
});
const killBody = z.object({ reason: z.string().max(500).optional() }).default({});

export function runRoutes(deps: {
  policy: Policy;
  store: Store;
  runs: RunService;
  respond: Responder;
  /** The URL agents use for MCP, as seen from where the run is started. */
  mcpUrl: () => string;
}): Hono<OperatorEnv> {
  const { respond } = deps;
  const routes = new Hono<OperatorEnv>();
  const view = (run: Run) => runView(run, deps.policy, deps.store);

  routes.post('/runs', async (c) => {
    guard(c, 'runs.create');
    const body = await parseBody(c.req.raw, createRunBody);
    const { run, token } = await deps.runs.create(body.profile, {
      ...(body.label !== undefined ? { label: body.label } : {}),
      ...(body.ttl_ms !== undefined ? { ttlMs: body.ttl_ms } : {}),
      ...(body.launcher !== undefined ? { launcher: body.launcher } : {}),
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
  routes.post('/runs/:id/grants', async (c) => {
    guard(c, 'runs.create');
    const { grant, expiresAt } = await deps.runs.mintGrant(c.req.param('id'));
    return c.json({ grant, expires_at: new Date(expiresAt).toISOString() }, 201);
  });

  routes.get('/runs', async (c) => {
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

  routes.get('/runs/:id', async (c) => {
    guard(c, 'view');
    const run = await deps.runs.get(c.req.param('id'));
    if (!run) throw new BulkheadError('not_found', 'No run with that id.');
    const events = await deps.store.events.list({ runId: run.id, limit: 200 });
    return respond.json(c, { run: await view(run), events });
  });

  // The jail's kill watcher: answered the moment the run is killed or expires (api-run-end.ts).
  routes.get('/runs/:id/ended', async (c) => {
    guard(c, 'view');
    return respond.json(c, await waitForRunEnd(deps.runs, c.req.param('id'), parseWait(c), c.req.raw.signal));
  });

  routes.post('/runs/:id/complete', async (c) => {
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

  routes.post('/runs/:id/kill', async (c) => {
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

  routes.post('/kill-all', async (c) => {
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

  return routes;
}
