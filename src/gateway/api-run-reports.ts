/**
 * What the sandbox beside a run reports to the operator API, as audit events
 * of that run: every egress attempt its proxy saw, and every workdir change
 * the jail's merge did not carry back to the host. The sandbox reports with
 * an operator credential holding `runs.complete` (a run token never reaches
 * the API); each body is strict, so nothing unlisted lands in the audit log.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { NewEvent } from '../events/event.js';
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

  /** A report the sandbox posts about run `:id`, recorded as an audit event in its operator's name. */
  const report = <S extends z.ZodType<Record<string, unknown>>>(
    path: string,
    schema: S,
    event: (body: z.infer<S>) => Pick<NewEvent, 'kind' | 'decision' | 'code'>,
  ) =>
    routes.post(path, async (c) => {
      guard(c, 'runs.complete');
      const body = await parseBody(c.req.raw, schema);
      await deps.events.write({
        ...event(body),
        runId: c.req.param('id'),
        actor: `operator:${c.get('operator').name}`,
        data: body,
      });
      return respond.json(c, { recorded: true });
    });

  // The sandbox's egress proxy runs beside the agent (bulkhead run); it reports every attempt here.
  report('/runs/:id/egress', egressBody, (body) => ({
    kind: 'egress',
    decision: body.decision,
    code: body.decision === 'deny' ? 'egress_denied' : null,
  }));

  // The jail's merge at exit reports what it did not carry back to the host workdir, and why.
  report('/runs/:id/workdir', workdirBody, (body) => ({
    kind: 'workdir',
    decision: 'deny',
    code: body.kind === 'held_back' ? 'workdir_held_back' : 'workdir_dropped',
  }));

  return routes;
}
