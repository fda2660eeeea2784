/**
 * What the sandbox beside a run reports to the operator API, as audit events
 * of that run: every egress attempt its proxy saw, and every workdir change
 * the jail's merge did not carry back to the host. The sandbox reports with
 * an operator credential holding `runs.complete` (a run token never reaches
 * the API); each body is strict, so nothing unlisted lands in the audit log.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { EventWriter } from '../events/writer.js';
import { guard, type OperatorEnv } from './api-guard.js';
import { parseBody } from './body.js';
import type { Responder } from './respond.js';

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

const workdirBody = z
  .object({
    kind: z.enum(['held_back', 'dropped']),
    path: z.string().max(2000),
    change: z.enum(['created', 'modified', 'deleted']).optional(),
    reason: z.string().max(500),
  })
  .strict();

export function runReportRoutes(deps: { events: EventWriter; respond: Responder }): Hono<OperatorEnv> {
  const { respond } = deps;
  const routes = new Hono<OperatorEnv>();

  // The sandbox's egress proxy runs beside the agent (bulkhead run); it reports every attempt here.
  routes.post('/runs/:id/egress', async (c) => {
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

  // The jail's merge at exit reports what it did not carry back to the host workdir, and why.
  routes.post('/runs/:id/workdir', async (c) => {
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

  return routes;
}
