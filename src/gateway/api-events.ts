/**
 * Audit routes of the operator API: the event log, filtered and paged
 * (`GET /events`), and calls and refusals over time (`GET /stats/calls`, the
 * dashboard's chart). Read-only, for any operator holding `view`. A query
 * that does not parse is refused (`bad_request`), never read as "no filter".
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { BulkheadError } from '../errors.js';
import { EVENT_KINDS, type EventFilter } from '../events/event.js';
import type { Store } from '../store/store.js';
import { guard, type OperatorEnv } from './api-guard.js';
import { parseQuery } from './body.js';
import type { Responder } from './respond.js';

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

export function eventRoutes(deps: { store: Store; respond: Responder }): Hono<OperatorEnv> {
  const { respond } = deps;
  const routes = new Hono<OperatorEnv>();

  // Calls and refusals over time, overall or for one run: the dashboard's chart.
  routes.get('/stats/calls', async (c) => {
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

  routes.get('/events', async (c) => {
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

  return routes;
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
