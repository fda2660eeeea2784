/**
 * Approval routes of the operator API. Only an operator holding one of the
 * rule's approver roles may decide; a run token never reaches these routes
 * (the API only accepts operator tokens). Edited arguments are validated
 * against the tool's tightened schema before they can be approved.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { APPROVAL_STATES, type Approval, runHash, type VoteRefusal } from '../approvals/approval.js';
import type { ApprovalService } from '../approvals/service.js';
import { BulkheadError } from '../errors.js';
import { checkArguments } from '../pipeline/validate.js';
import type { Store } from '../store/store.js';
import { parseBody } from './body.js';
import type { Catalog } from './catalog.js';
import type { Operator } from './operators.js';
import type { Responder } from './respond.js';

export interface ApprovalView {
  id: string;
  run_id: string;
  tool: string;
  class: string;
  arguments: Record<string, unknown>;
  args_hash: string;
  state: Approval['state'];
  why: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  quorum: number;
  approvers: string[];
  votes: { operator: string; decision: string; reason: string | null; at: number }[];
  reason: string | null;
  edited_arguments: Record<string, unknown> | null;
  /** Hash of the arguments that run if approved (the edit, else the original); approve sends it back. */
  run_hash: string;
  /** Callers waiting on it in this gateway; 0 means the agent that asked went away. */
  waiting?: number;
  /** Other approvals of this run for the same tool and arguments: has it run already, or is it waiting? */
  identical?: { id: string; state: Approval['state']; decided_at: number | null }[];
  /** The tool's rule lets an approver approve edited arguments. */
  editable: boolean;
}

export function approvalView(
  a: Approval,
  context?: { waiting: number; identical: Approval[] },
  editable = false,
): ApprovalView {
  return {
    id: a.id,
    run_id: a.runId,
    tool: a.tool,
    class: a.toolClass,
    arguments: a.arguments,
    args_hash: a.argsHash,
    state: a.state,
    why: a.why,
    created_at: a.createdAt,
    expires_at: a.expiresAt,
    decided_at: a.decidedAt,
    quorum: a.quorum,
    approvers: a.approvers,
    votes: a.votes,
    reason: a.reason,
    edited_arguments: a.editedArguments,
    run_hash: runHash(a),
    editable,
    ...(context
      ? {
          waiting: context.waiting,
          identical: context.identical.map((o) => ({ id: o.id, state: o.state, decided_at: o.decidedAt })),
        }
      : {}),
  };
}

const approveBody = z
  .object({
    // The `run_hash` the approver was shown: refused if the arguments that would run changed since.
    args_hash: z.string().regex(/^[0-9a-f]{64}$/, 'the run_hash of the approval as you saw it'),
    reason: z.string().max(1000).optional(),
    arguments: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
const denyBody = z.object({ reason: z.string().min(1).max(1000) }).strict();

type Env = { Variables: { operator: Operator } };

export function approvalRoutes(deps: {
  store: Store;
  approvals: ApprovalService;
  catalog: Catalog;
  respond: Responder;
}): Hono<Env> {
  const { respond } = deps;
  const routes = new Hono<Env>();

  const editable = (a: Approval) => deps.catalog.get(a.tool)?.rule.approval?.allow_edit ?? false;

  const load = async (id: string) => {
    const approval = await deps.store.approvals.get(id);
    if (!approval) throw new BulkheadError('not_found', 'No approval with that id.');
    return approval;
  };

  const decide = async (
    operator: Operator,
    approval: Approval,
    decision: 'approve' | 'deny',
    reason: string | undefined,
    edited?: Record<string, unknown>,
    seenHash?: string,
  ) => {
    if (!operator.roles.some((r) => approval.approvers.includes(r))) {
      throw new BulkheadError(
        'forbidden',
        `Deciding this approval needs one of the roles: ${approval.approvers.join(', ')}.`,
      );
    }
    // The approver's context does not depend on the vote (it excludes this approval), so it is
    // read alongside it rather than after: one round trip less before A answers.
    const identical = deps.approvals.identical(approval.runId, approval.tool, approval.argsHash, approval.id);
    identical.catch(() => undefined);
    const outcome = await deps.approvals.decide(
      approval.id,
      {
        operator: operator.name,
        decision,
        reason: reason ?? null,
        at: Date.now(),
        ...(seenHash ? { seenHash } : {}),
      },
      edited,
      // Just read (`load`): lets the store vote in one round trip while the row is unchanged.
      approval,
    );
    if (!outcome.ok) {
      const messages: Record<VoteRefusal, string> = {
        not_found: 'No approval with that id.',
        not_pending: 'This approval has already been decided.',
        already_voted: 'You have already voted on this approval.',
        expired: 'This approval has expired.',
        edit_after_votes: 'Arguments can only be edited by the first approver; approve them as they are.',
        edit_not_storable:
          'The edited arguments hold a sensitive or redacted value that cannot be kept as it must run; deny instead and let the agent retry.',
        arguments_changed:
          'The arguments that would run are not the ones you saw (another approver edited them): look again before approving.',
      };
      const code =
        outcome.code === 'not_found'
          ? 'not_found'
          : outcome.code === 'edit_not_storable'
            ? 'bad_request'
            : 'conflict';
      throw new BulkheadError(code, messages[outcome.code]);
    }
    return withContext(outcome.approval, await identical);
  };

  // What an approver must know besides the call: is anyone still waiting for it, and has an
  // identical call already run, or is one waiting too?
  const withContext = async (a: Approval, identical?: Approval[]) =>
    approvalView(
      a,
      {
        waiting: deps.approvals.waitingOn(a.id),
        identical: identical ?? (await deps.approvals.identical(a.runId, a.tool, a.argsHash, a.id)),
      },
      editable(a),
    );

  routes.get('/', async (c) => {
    const state = c.req.query('state');
    if (state && !(APPROVAL_STATES as readonly string[]).includes(state))
      throw new BulkheadError('bad_request', `unknown state "${state}"`);
    // Held calls whose caller went away are never woken: their deadline is applied on read.
    await deps.approvals.expireOverdue();
    // Pending ones closest to timing out come first, and many more than a page: none may be hidden.
    const list = await deps.store.approvals.list(
      state === 'pending'
        ? { state, order: 'expiring', limit: 1000 }
        : state
          ? { state: state as Approval['state'] }
          : {},
    );
    return respond.json(c, {
      approvals: await Promise.all(
        list.map((a) => (a.state === 'pending' ? withContext(a) : approvalView(a, undefined, editable(a)))),
      ),
    });
  });

  routes.get('/:id', async (c) => {
    const approval = await load(c.req.param('id'));
    const context = await deps.store.events.list({ runId: approval.runId, limit: 20 });
    return respond.json(c, { approval: await withContext(approval), context });
  });

  routes.post('/:id/approve', async (c) => {
    const body = await parseBody(c.req.raw, approveBody);
    const approval = await load(c.req.param('id'));
    // What runs is the checked value (the upstream's defaults filled in), never the text sent.
    let edited: Record<string, unknown> | undefined;
    if (body.arguments) {
      const tool = deps.catalog.get(approval.tool);
      if (!tool?.rule.approval?.allow_edit)
        throw new BulkheadError('forbidden', 'This tool does not allow approving edited arguments.');
      // The same checks as the validate stage: schema, prototype keys, non-finite numbers.
      const checked = checkArguments(tool, body.arguments);
      if (!checked.ok) {
        throw new BulkheadError(
          'bad_request',
          `The edited arguments do not pass the tool's schema (${checked.denial.detail?.pointer || 'root'}).`,
        );
      }
      edited = checked.args;
    }
    return respond.json(c, {
      approval: await decide(c.get('operator'), approval, 'approve', body.reason, edited, body.args_hash),
    });
  });

  routes.post('/:id/deny', async (c) => {
    const body = await parseBody(c.req.raw, denyBody);
    const approval = await load(c.req.param('id'));
    return respond.json(c, { approval: await decide(c.get('operator'), approval, 'deny', body.reason) });
  });

  return routes;
}
